package account

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"aias/internal/errs"
)

// Password length bounds. The upper bound only caps the work one request
// can ask of the hasher; any character is allowed.
const (
	MinPasswordLen = 12   // characters
	MaxPasswordLen = 1024 // bytes
)

//go:embed common_passwords.txt
var commonList string

// commonSet is the embedded list as a set, built at the first password
// check rather than at start-up: workers and schedulers never check one, and
// an idle process should not carry the set.
var commonSet = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for _, line := range strings.Split(commonList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			set[line] = true
		}
	}
	return set
})

// runs are keyboard and counting sequences: a password that is a piece of
// one of them (forwards or backwards) is refused.
var runs = []string{
	"abcdefghijklmnopqrstuvwxyz",
	"qwertyuiopasdfghjklzxcvbnm",
	"qwertzuiopasdfghjklyxcvbnm",
	"azertyuiopqsdfghjklmwxcvbn",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
	"!@#$%^&*()_+",
	"01234567890123456789012345678901234567890",
}

// CheckPassword refuses a password that is too short or too long, common,
// a common password wrapped in digits and symbols, a repetition, a keyboard
// or counting sequence, or that contains the name part of email. The error
// is an errs.Invalid with the field "password" and says which rule failed.
func CheckPassword(password, email string) error {
	if msg := passwordProblem(password, email); msg != "" {
		return errs.Validation("password is not acceptable", errs.FieldError{Path: "password", Message: msg})
	}
	return nil
}

func passwordProblem(password, email string) string {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return "must be at least 12 characters"
	case len(password) > MaxPasswordLen:
		return "must be at most 1024 bytes"
	case guessable(strings.ToLower(password)):
		return "is too common or too easy to guess"
	case containsName(strings.ToLower(password), email):
		return "must not contain the name of your email address"
	}
	return ""
}

// guessable holds the rules that need no knowledge of the user.
func guessable(p string) bool {
	core := strings.TrimFunc(p, func(r rune) bool { return !unicode.IsLetter(r) })
	common := commonSet()
	if common[p] || (core != "" && common[core]) {
		return true
	}
	if repeated(p) || repeated(core) || distinct(p) < 5 {
		return true
	}
	for _, run := range runs {
		if strings.Contains(run, p) || strings.Contains(reverse(run), p) {
			return true
		}
	}
	return false
}

// repeated reports whether s is a unit said twice or more that is either
// short (abcabcabcabc) or common (passwordpassword).
func repeated(s string) bool {
	for n := 1; n <= len(s)/2; n++ {
		if len(s)%n != 0 {
			continue
		}
		unit := s[:n]
		if strings.Repeat(unit, len(s)/n) == s && (n <= 4 || commonSet()[unit]) {
			return true
		}
	}
	return false
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// containsName reports whether p is, or contains, the part of email before
// the @ (without a +tag). Names shorter than four characters are only
// refused as the whole password, so "jo@…" can still use "journey…".
func containsName(p, email string) bool {
	name, _, ok := strings.Cut(strings.ToLower(email), "@")
	if !ok || name == "" {
		return false
	}
	name, _, _ = strings.Cut(name, "+")
	if name == "" {
		return false
	}
	if p == name || strings.Trim(p, "0123456789!@#$%^&*()-_=+.,;:?") == name {
		return true
	}
	return len(name) >= 4 && strings.Contains(p, name)
}

package account_test

import (
	"strings"
	"testing"

	"aias/internal/account"
	"aias/internal/errs"
)

func TestCheckPasswordRefusesShortCommonAndGuessablePasswords(t *testing.T) {
	t.Parallel()
	const email = "margaret.h@example.com"
	for _, pw := range []string{
		"",
		"short",
		"elevenchars",          // 11
		"winniethepooh",        // on the list as it is
		"WinnieThePooh",        // case does not help
		"password1234",         // a listed password wrapped in digits
		"Password2024!",        // and symbols
		"!!monkey123456",       // on both sides
		"passwordpassword",     // a listed password said twice
		"abcabcabcabc",         // a short unit repeated
		"aaaaaaaaaaaaaaaa",     // one character
		"aabbaabbaabbaabb",     // too few distinct characters
		"qwertyuiopasdf",       // a keyboard row
		"123456789012",         // counting
		"zyxwvutsrqponm",       // counting backwards
		"margaret.h",           // the email's name (and too short)
		"margaret.h2024",       // the name with digits
		"i-am-margaret.h-here", // the name inside
	} {
		err := account.CheckPassword(pw, email)
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("CheckPassword(%q) = %v, want it refused", pw, err)
			continue
		}
		if e, _ := errs.As(err); len(e.Fields) != 1 || e.Fields[0].Path != "password" {
			t.Errorf("CheckPassword(%q) fields = %v, want one on \"password\"", pw, e.Fields)
		}
	}
}

func TestCheckPasswordAcceptsLongUncommonPasswords(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{
		"correct horse battery staple",
		"plum-orchard-41-lantern",
		"tRoub4dor&3-xylophone",
		"ça-va-très-bien-merci",
		"journey-to-the-west", // contains "jo", a name too short to refuse inside a password
		strings.Repeat("x", 10) + "yz7!",
	} {
		if err := account.CheckPassword(pw, "jo@example.com"); err != nil {
			t.Errorf("CheckPassword(%q) = %v, want nil", pw, err)
		}
	}
}

func TestCheckPasswordBoundsLength(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("kq7", account.MaxPasswordLen/3) + "zzzz"
	if err := account.CheckPassword(long, "a@example.com"); !errs.Is(err, errs.Invalid) {
		t.Errorf("CheckPassword(%d bytes) = %v, want refused", len(long), err)
	}
	// twelve characters count, not twelve bytes
	if err := account.CheckPassword("ééééé-kq7-zx", "a@example.com"); err != nil {
		t.Errorf("CheckPassword(12 characters, 17 bytes) = %v, want nil", err)
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("password1234", "a@b.c")
	f.Add("\xff\xfe\x00", "@")
	f.Add("", "+@x")
	f.Fuzz(func(t *testing.T, pw, email string) {
		err := account.CheckPassword(pw, email)
		if err == nil && len([]rune(pw)) < account.MinPasswordLen {
			t.Errorf("CheckPassword(%q) accepted a password under %d characters", pw, account.MinPasswordLen)
		}
	})
}

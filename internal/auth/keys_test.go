package auth_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"aias/internal/auth"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keyLen is len("aias_") + 30 random chars + 6 checksum chars.
const keyLen = 5 + 30 + 6

func TestNewKeyIsWellFormed(t *testing.T) {
	t.Parallel()
	for range 100 {
		k := auth.NewKey()
		if !auth.WellFormed(k) {
			t.Fatalf("WellFormed(NewKey() = %q) = false, want true", k)
		}
		if !strings.HasPrefix(k, auth.KeyPrefix) || auth.KeyPrefix != "aias_" {
			t.Fatalf("NewKey() = %q, want prefix %q", k, "aias_")
		}
		if len(k) != keyLen {
			t.Fatalf("len(NewKey() = %q) = %d, want %d", k, len(k), keyLen)
		}
		for i := len(auth.KeyPrefix); i < len(k); i++ {
			if !strings.ContainsRune(base62, rune(k[i])) {
				t.Fatalf("NewKey() = %q has non-base62 byte %q at %d", k, k[i], i)
			}
		}
	}
}

func TestNewKeyNeverRepeats(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		k := auth.NewKey()
		if seen[k] {
			t.Fatalf("NewKey() returned %q twice", k)
		}
		seen[k] = true
	}
}

// Every single-character substitution anywhere in a key, prefix, body or
// checksum, must be detected: CRC32 catches every single-byte error and the
// 6-char base62 rendering of a 32-bit checksum is injective.
func TestWellFormedRejectsEverySingleCharacterChange(t *testing.T) {
	t.Parallel()
	k := auth.NewKey()
	for i := range len(k) {
		for _, c := range []byte(base62 + "_-") {
			if c == k[i] {
				continue
			}
			mutated := k[:i] + string(c) + k[i+1:]
			if auth.WellFormed(mutated) {
				t.Errorf("WellFormed(%q) = true (key %q with byte %d changed to %q), want false", mutated, k, i, c)
			}
		}
	}
}

func TestWellFormedRejectsWrongShapes(t *testing.T) {
	t.Parallel()
	k := auth.NewKey()
	tests := []struct {
		name, key string
	}{
		{"empty", ""},
		{"prefix only", "aias_"},
		{"missing last char", k[:len(k)-1]},
		{"extra char", k + "0"},
		{"upper-case prefix", "AIAS_" + k[5:]},
		{"other prefix", "sk_l_" + k[5:]},
		{"whitespace", " " + k[:len(k)-1]},
		{"non-base62 in body", k[:10] + "!" + k[11:]},
		{"bearer scheme left on", "Bearer " + k},
	}
	for _, tt := range tests {
		if auth.WellFormed(tt.key) {
			t.Errorf("WellFormed(%q) [%s] = true, want false", tt.key, tt.name)
		}
	}
}

func TestHashIsSHA256OfTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(auth.Hash(tt.in)); got != tt.want {
			t.Errorf("Hash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	k := auth.NewKey()
	if a, b := auth.Hash(k), auth.Hash(k); string(a) != string(b) {
		t.Errorf("Hash(%q) is not deterministic: %x vs %x", k, a, b)
	}
}

func TestDisplayPrefixRevealsAtMostTwelveCharacters(t *testing.T) {
	t.Parallel()
	k := auth.NewKey()
	tests := []struct{ in, want string }{
		{k, k[:12]},
		{"", ""},
		{"aias_short", "aias_short"},
		{"exactly12chr", "exactly12chr"},
		{"thirteen-char", "thirteen-cha"},
	}
	for _, tt := range tests {
		got := auth.DisplayPrefix(tt.in)
		if got != tt.want {
			t.Errorf("DisplayPrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > 12 {
			t.Errorf("DisplayPrefix(%q) = %q reveals %d chars, want <= 12", tt.in, got, len(got))
		}
	}
	if p := auth.DisplayPrefix(k); !strings.HasPrefix(p, auth.KeyPrefix) {
		t.Errorf("DisplayPrefix(%q) = %q, want it to start with %q so keys are recognisable", k, p, auth.KeyPrefix)
	}
}

func FuzzWellFormed(f *testing.F) {
	f.Add(auth.NewKey())
	f.Add("")
	f.Add("aias_")
	f.Add("aias_000000000000000000000000000000000000")
	f.Add("aias_" + strings.Repeat("z", 36))
	f.Add("aias_\xff\xfe" + strings.Repeat("0", 34))
	f.Fuzz(func(t *testing.T, s string) {
		if !auth.WellFormed(s) {
			return
		}
		if len(s) != keyLen {
			t.Errorf("WellFormed(%q) = true with length %d, want length %d", s, len(s), keyLen)
		}
		if !strings.HasPrefix(s, auth.KeyPrefix) {
			t.Errorf("WellFormed(%q) = true without prefix %q", s, auth.KeyPrefix)
		}
		for i := len(auth.KeyPrefix); i < len(s); i++ {
			if !strings.ContainsRune(base62, rune(s[i])) {
				t.Errorf("WellFormed(%q) = true with non-base62 byte %q at %d", s, s[i], i)
			}
		}
	})
}

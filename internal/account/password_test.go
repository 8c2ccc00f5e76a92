package account_test

import (
	"context"
	"strings"
	"testing"

	"aias/internal/account"
)

func TestHashVerifiesTheSamePasswordAndNoOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := account.NewHasher(account.DefaultParams)
	a, err := h.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("Hash twice = %q both times, want a fresh salt each time", a)
	}
	if !strings.HasPrefix(a, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q, want a PHC argon2id string with the default parameters", a)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{password, true}, {password + " ", false}, {strings.ToUpper(password), false}, {"", false}} {
		if got, err := h.Verify(ctx, tt.pw, a); err != nil || got != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.pw, got, err, tt.want)
		}
	}
}

// Hashes carry their parameters: raising them keeps old hashes verifying
// and marks them for rehashing.
func TestRaisedParametersStillVerifyOldHashesAndAskForARehash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := account.NewHasher(account.Params{Memory: 1024, Time: 1, Threads: 1})
	raised := account.NewHasher(account.Params{Memory: 2048, Time: 2, Threads: 1})
	hash, err := old.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := raised.Verify(ctx, password, hash); err != nil || !ok {
		t.Errorf("raised.Verify(old hash) = %v, %v; want true", ok, err)
	}
	if !raised.NeedsRehash(hash) {
		t.Errorf("raised.NeedsRehash(%q) = false, want true", hash)
	}
	if old.NeedsRehash(hash) {
		t.Errorf("old.NeedsRehash(own hash) = true, want false")
	}
}

func TestVerifyRefusesMalformedAndHostileHashes(t *testing.T) {
	t.Parallel()
	h := account.NewHasher(account.Params{Memory: 1024, Time: 1, Threads: 1})
	good, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, hash := range map[string]string{
		"empty":                "",
		"bcrypt":               "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":              with(1, "argon2i"),
		"old version":          with(2, "v=16"),
		"a gigabyte and more":  with(3, "m=2000000,t=1,p=1"),
		"zero passes":          with(3, "m=1024,t=0,p=1"),
		"a thousand passes":    with(3, "m=1024,t=1000,p=1"),
		"zero lanes":           with(3, "m=1024,t=1,p=0"),
		"parameters reordered": with(3, "t=1,m=1024,p=1"),
		"trailing junk":        with(3, "m=1024,t=1,p=1,x=2"),
		"salt not base64":      with(4, "!!!!"),
		"key too short":        with(5, "AAAA"),
		"extra field":          good + "$x",
	} {
		if ok, err := h.Verify(context.Background(), password, hash); err == nil || ok {
			t.Errorf("Verify(%s: %q) = %v, %v; want an error", name, hash, ok, err)
		}
	}
}

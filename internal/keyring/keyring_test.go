package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"aias/internal/errs"
)

// Fixed test keys, so fuzz corpora stay meaningful across runs.
var (
	key1 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	key2 = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, KeySize)) // has - and _
	key3 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, KeySize))
)

func mustParse(t testing.TB, spec string) *Keyring {
	t.Helper()
	k, err := Parse(spec)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

func mustSeal(t testing.TB, k *Keyring, plaintext, aad []byte) []byte {
	t.Helper()
	sealed, err := k.Seal(plaintext, aad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

func wantUndecryptable(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("opened; want an error")
	}
	if !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("error %v does not wrap ErrUndecryptable", err)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k2:"+key2+",k1:"+key1)
	aad := AAD("webhook-secret", "tenant-a", "endpoint-1", "secret-1")
	for _, tc := range []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"empty plaintext", nil, aad},
		{"short secret", []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), aad},
		{"binary plaintext", []byte{0, 0xff, 0, 0xfe}, aad},
		{"large plaintext", bytes.Repeat([]byte("x"), 1<<16), aad},
		{"no aad", []byte("s"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sealed := mustSeal(t, k, tc.plaintext, tc.aad)
			if want := Overhead + len("k2") + len(tc.plaintext); len(sealed) != want {
				t.Errorf("sealed length = %d, want %d", len(sealed), want)
			}
			if len(tc.plaintext) > 8 && bytes.Contains(sealed, tc.plaintext) {
				t.Error("plaintext appears in the sealed value")
			}
			got, err := k.Open(sealed, tc.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k1:"+key1)
	a, b := mustSeal(t, k, []byte("same"), nil), mustSeal(t, k, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal")
	}
}

func TestSealUsesPrimary(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k2:"+key2+",k1:"+key1)
	sealed := mustSeal(t, k, []byte("s"), nil)
	if id, err := k.KeyID(sealed); err != nil || id != "k2" {
		t.Fatalf("KeyID = %q, %v; want k2", id, err)
	}
	if _, err := mustParse(t, "k2:"+key2).Open(sealed, nil); err != nil {
		t.Fatalf("primary alone cannot open: %v", err)
	}
	_, err := mustParse(t, "k1:"+key1).Open(sealed, nil)
	wantUndecryptable(t, err)
}

func TestEveryConfiguredKeyOpens(t *testing.T) {
	t.Parallel()
	all := mustParse(t, "k3:"+key3+",k2:"+key2+",k1:"+key1)
	for _, spec := range []string{"k1:" + key1, "k2:" + key2, "k3:" + key3} {
		old := mustParse(t, spec)
		t.Run("sealed under "+old.Primary(), func(t *testing.T) {
			t.Parallel()
			sealed := mustSeal(t, old, []byte("secret "+old.Primary()), AAD("x"))
			got, err := all.Open(sealed, AAD("x"))
			if err != nil || string(got) != "secret "+old.Primary() {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}

func TestRewrapMovesToPrimary(t *testing.T) {
	t.Parallel()
	aad := AAD("integration-secret", "tenant-a", "slack")
	old := mustSeal(t, mustParse(t, "k1:"+key1), []byte("xoxb-token"), aad)
	rotated := mustParse(t, "k2:"+key2+",k1:"+key1)

	out, changed, err := rotated.Rewrap(old, aad)
	if err != nil || !changed {
		t.Fatalf("Rewrap = changed %v, %v; want changed", changed, err)
	}
	if id, _ := rotated.KeyID(out); id != "k2" {
		t.Fatalf("KeyID after Rewrap = %q, want k2", id)
	}
	// The data part (nonce, ciphertext, tag) is copied untouched.
	if !bytes.HasSuffix(out, old[len(old)-(nonceSize+len("xoxb-token")+tagSize):]) {
		t.Error("Rewrap changed the data ciphertext")
	}
	got, err := mustParse(t, "k2:"+key2).Open(out, aad)
	if err != nil || string(got) != "xoxb-token" {
		t.Fatalf("primary-only keyring Open = %q, %v", got, err)
	}

	again, changed, err := rotated.Rewrap(out, aad)
	if err != nil || changed || !bytes.Equal(again, out) {
		t.Fatalf("second Rewrap = changed %v, %v; want unchanged", changed, err)
	}
}

func TestRewrapRejects(t *testing.T) {
	t.Parallel()
	aad := AAD("webhook-secret", "tenant-a")
	old := mustSeal(t, mustParse(t, "k1:"+key1), []byte("s"), aad)
	rotated := mustParse(t, "k2:"+key2+",k1:"+key1)
	for _, tc := range []struct {
		name   string
		sealed []byte
		aad    []byte
	}{
		{"another row's aad", old, AAD("webhook-secret", "tenant-b")},
		{"truncated value", old[:10], aad},
		{"unknown key", mustSeal(t, mustParse(t, "k9:"+key3), []byte("s"), aad), aad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, changed, err := rotated.Rewrap(tc.sealed, tc.aad)
			wantUndecryptable(t, err)
			if out != nil || changed {
				t.Fatalf("Rewrap = %x, %v alongside an error", out, changed)
			}
		})
	}
}

func TestOpenRejectsEveryBitFlip(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k2:"+key2+",k1:"+key1)
	aad := AAD("webhook-secret", "t", "e", "s")
	sealed := mustSeal(t, k, []byte("whsec_abc"), aad)
	for i := range sealed {
		for bit := range 8 {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= 1 << bit
			if got, err := k.Open(tampered, aad); err == nil || !errors.Is(err, ErrUndecryptable) {
				t.Fatalf("byte %d bit %d flipped: Open = %q, %v", i, bit, got, err)
			}
		}
	}
}

func TestOpenRejectsEveryTruncation(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k1:"+key1)
	sealed := mustSeal(t, k, []byte("whsec_abc"), nil)
	for n := range len(sealed) {
		if got, err := k.Open(sealed[:n], nil); err == nil || !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("truncated to %d bytes: Open = %q, %v", n, got, err)
		}
	}
	extended := append(bytes.Clone(sealed), 0)
	_, err := k.Open(extended, nil)
	wantUndecryptable(t, err)
}

func TestOpenRejectsAnotherRowsAAD(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k1:"+key1)
	tenantA := AAD("webhook-secret", "tenant-a", "endpoint-1", "secret-1")
	sealed := mustSeal(t, k, []byte("tenant A's secret"), tenantA)
	for _, tc := range []struct {
		name string
		aad  []byte
	}{
		{"another tenant", AAD("webhook-secret", "tenant-b", "endpoint-1", "secret-1")},
		{"another endpoint", AAD("webhook-secret", "tenant-a", "endpoint-2", "secret-1")},
		{"another purpose", AAD("integration-secret", "tenant-a", "endpoint-1", "secret-1")},
		{"shifted boundary", AAD("webhook-secret", "tenant-aendpoint-1", "", "secret-1")},
		{"no aad", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := k.Open(sealed, tc.aad)
			wantUndecryptable(t, err)
		})
	}
}

func TestWrappedKeyCannotBeTransplanted(t *testing.T) {
	t.Parallel()
	// Splice row A's wrapped DEK into row B's value: both parts are bound
	// to their aad, so neither row's aad opens the mix.
	k := mustParse(t, "k1:"+key1)
	aadA, aadB := AAD("s", "a"), AAD("s", "b")
	a, b := mustSeal(t, k, []byte("AAAA"), aadA), mustSeal(t, k, []byte("BBBB"), aadB)
	head := 2 + len("k1") + wrappedSize
	mixed := append(bytes.Clone(a[:head]), b[head:]...)
	for _, aad := range [][]byte{aadA, aadB} {
		_, err := k.Open(mixed, aad)
		wantUndecryptable(t, err)
	}
}

func TestOpenUnknownKeyNamesIt(t *testing.T) {
	t.Parallel()
	sealed := mustSeal(t, mustParse(t, "k-retired_7:"+key3), []byte("s"), nil)
	_, err := mustParse(t, "k2:"+key2+",k1:"+key1).Open(sealed, nil)
	wantUndecryptable(t, err)
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("error %v does not wrap ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), `"k-retired_7"`) {
		t.Errorf("error %q does not name the key id", err)
	}
	for _, key := range []string{key1, key2, key3} {
		if strings.Contains(err.Error(), key) {
			t.Errorf("error %q shows key material", err)
		}
	}
}

func TestOpenErrorsAreInternal(t *testing.T) {
	t.Parallel()
	_, err := mustParse(t, "k1:"+key1).Open([]byte("garbage"), nil)
	wantUndecryptable(t, err)
	if errs.KindOf(err) != errs.Internal {
		t.Fatalf("KindOf = %v, want internal (hidden from clients)", errs.KindOf(err))
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k2:"+key2+",k1:"+key1)
	for _, tc := range []struct {
		name    string
		sealed  []byte
		want    string
		wantErr bool
	}{
		{"primary", mustSeal(t, k, []byte("s"), nil), "k2", false},
		{"older key", mustSeal(t, mustParse(t, "k1:"+key1), []byte("s"), nil), "k1", false},
		{"key not in the ring", mustSeal(t, mustParse(t, "gone:"+key3), []byte("s"), nil), "gone", false},
		{"empty", nil, "", true},
		{"wrong version", append([]byte{2}, mustSeal(t, k, nil, nil)[1:]...), "", true},
		{"zero-length id", append([]byte{1, 0}, make([]byte, 100)...), "", true},
		{"id too long", append([]byte{1, 33}, make([]byte, 200)...), "", true},
		{"id with a bad character", append([]byte{1, 2, 'k', '/'}, make([]byte, 100)...), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.KeyID(tc.sealed)
			if tc.wantErr {
				wantUndecryptable(t, err)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("KeyID = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestAADIsUnambiguous(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a, b []string
	}{
		{"boundary moved", []string{"ab", "c"}, []string{"a", "bc"}},
		{"empty part added", []string{"a"}, []string{"a", ""}},
		{"no parts vs one empty part", nil, []string{""}},
		{"parts joined", []string{"tenant", "a"}, []string{"tenanta"}},
		{"order swapped", []string{"a", "b"}, []string{"b", "a"}},
		{"length-like content", []string{"\x00\x00\x00\x01a"}, []string{"a", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if bytes.Equal(AAD(tc.a...), AAD(tc.b...)) {
				t.Fatalf("AAD(%q) == AAD(%q)", tc.a, tc.b)
			}
		})
	}
	if got, want := AAD("ab", "c"), []byte("\x00\x00\x00\x02ab\x00\x00\x00\x01c"); !bytes.Equal(got, want) {
		t.Errorf("AAD(ab, c) = %q, want %q", got, want)
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x7e}, 11)[:KeySize]
	for _, tc := range []struct {
		name    string
		spec    string
		primary string
		ids     []string
	}{
		{"one key", "k1:" + key1, "k1", []string{"k1"}},
		{"first is primary", "k2:" + key2 + ",k1:" + key1, "k2", []string{"k2", "k1"}},
		{"order kept", "a:" + key1 + ",c:" + key2 + ",b:" + key3, "a", []string{"a", "c", "b"}},
		{"spaces and newlines around entries", " k2 : " + key2 + " ,\n k1:" + key1 + "\n", "k2", []string{"k2", "k1"}},
		{"std base64 padded", "k:" + base64.StdEncoding.EncodeToString(raw), "k", []string{"k"}},
		{"std base64 unpadded", "k:" + base64.RawStdEncoding.EncodeToString(raw), "k", []string{"k"}},
		{"url base64 padded", "k:" + base64.URLEncoding.EncodeToString(raw), "k", []string{"k"}},
		{"url base64 unpadded", "k:" + base64.RawURLEncoding.EncodeToString(raw), "k", []string{"k"}},
		{"longest id", strings.Repeat("A_-9", 8) + ":" + key1, strings.Repeat("A_-9", 8), []string{strings.Repeat("A_-9", 8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := mustParse(t, tc.spec)
			if k.Primary() != tc.primary || fmt.Sprint(k.IDs()) != fmt.Sprint(tc.ids) {
				t.Fatalf("Primary = %q, IDs = %q; want %q, %q", k.Primary(), k.IDs(), tc.primary, tc.ids)
			}
		})
	}
}

func TestParseSameKeyDecodedFromEveryEncoding(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x7e}, 11)[:KeySize]
	sealed := mustSeal(t, mustParse(t, "k:"+base64.StdEncoding.EncodeToString(raw)), []byte("s"), nil)
	if _, err := mustParse(t, "k:"+base64.RawURLEncoding.EncodeToString(raw)).Open(sealed, nil); err != nil {
		t.Fatalf("raw-url encoding of the same key does not open: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	long := base64.StdEncoding.EncodeToString(make([]byte, 33))
	for _, tc := range []struct {
		name string
		spec string
		want []string // every substring must appear in the error
	}{
		{"empty spec", "", []string{"no keys"}},
		{"blank spec", " \n", []string{"no keys"}},
		{"bad base64", "k1:not*base64!", []string{`key 1 ("k1")`, "not valid base64"}},
		{"key too short", "k1:" + short, []string{`key 1 ("k1")`, "16 bytes, want 32"}},
		{"key too long", "k1:" + long, []string{"33 bytes, want 32"}},
		{"missing key", "k1:", []string{"no key after the colon"}},
		{"missing colon", key1, []string{"key 1", `want "id:base64"`}},
		{"empty id", ":" + key1, []string{"key 1", "key id must be"}},
		{"id too long", strings.Repeat("k", 33) + ":" + key1, []string{"key id must be"}},
		{"id with a bad character", "k.1:" + key1, []string{"key id must be"}},
		{"duplicate id", "k1:" + key1 + ",k1:" + key2, []string{`key 2 ("k1")`, "duplicate key id"}},
		{"empty entry", "k1:" + key1 + ",", []string{"key 2", "empty entry"}},
		{"every problem at once",
			"k1:" + key1 + ",k1:" + key2 + ",k 2:" + key3 + ",k3:" + short + ",k4:***,,nocolon",
			[]string{"key 2", "duplicate", "key 3", "key id must be", "key 4", "16 bytes", "key 5", "base64", "key 6", "empty entry", "key 7", "id:base64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := Parse(tc.spec)
			if err == nil {
				t.Fatalf("Parse = %v, want an error", k)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, key := range []string{key1, key2, key3, short, long} {
				if strings.Contains(err.Error(), key) {
					t.Errorf("error %q shows key material", err)
				}
			}
		})
	}
}

func TestStringHidesKeyMaterial(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k2:"+key2+",k1:"+key1)
	const want = "keyring(primary=k2, keys=[k2 k1])"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		if got := fmt.Sprintf(verb, k); got != want {
			t.Errorf("Sprintf(%s) = %q, want %q", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%v", struct{ K *Keyring }{k}); got != "{"+want+"}" {
		t.Errorf("keyring in a struct prints %q", got)
	}
	var nilRing *Keyring
	if got := nilRing.String(); got != "keyring(nil)" {
		t.Errorf("nil String = %q", got)
	}
}

func TestIDsReturnsACopy(t *testing.T) {
	t.Parallel()
	k := mustParse(t, "k2:"+key2+",k1:"+key1)
	k.IDs()[0] = "changed"
	if k.IDs()[0] != "k2" {
		t.Fatal("IDs exposes the keyring's slice")
	}
}

func TestGenerateMakesAUsablePrimary(t *testing.T) {
	t.Parallel()
	a, b := Generate(), Generate()
	if a == b {
		t.Fatal("Generate returned the same key twice")
	}
	id, enc, _ := strings.Cut(a, ":")
	if !strings.HasPrefix(id, "k") || len(id) < 11 {
		t.Errorf("generated id %q, want k<unix seconds>", id)
	}
	if raw, err := base64.StdEncoding.DecodeString(enc); err != nil || len(raw) != KeySize {
		t.Errorf("generated key decodes to %d bytes, %v", len(raw), err)
	}
	k := mustParse(t, a+",k1:"+key1)
	if k.Primary() != id {
		t.Fatalf("Primary = %q, want %q", k.Primary(), id)
	}
	sealed := mustSeal(t, k, []byte("s"), nil)
	if got, err := k.Open(sealed, nil); err != nil || string(got) != "s" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

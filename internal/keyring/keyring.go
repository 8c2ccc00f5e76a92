package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sizes of the sealed format.
const (
	version     = 1
	KeySize     = 32 // bytes of a KEK and of a DEK (AES-256)
	MaxIDLen    = 32 // longest key id
	nonceSize   = 12
	tagSize     = 16
	wrappedSize = nonceSize + KeySize + tagSize // nonce | wrapped DEK | tag
	// Overhead is what Seal adds besides the kid: version, kid length, the
	// wrapped DEK with its nonce and tag, and the data nonce and tag.
	Overhead = 2 + wrappedSize + nonceSize + tagSize
)

var (
	// ErrUndecryptable is wrapped by every error returned for a value that
	// cannot be opened: tampered, truncated, sealed with another aad, of an
	// unknown version or under a key the keyring does not hold.
	ErrUndecryptable = errors.New("keyring: value cannot be decrypted")
	// ErrUnknownKey is wrapped (with ErrUndecryptable) when the value names a
	// key id that is not in the keyring.
	ErrUnknownKey = errors.New("unknown key id")
)

// Keyring holds the KEKs. It is safe for concurrent use and immutable after
// Parse.
type Keyring struct {
	primary string
	ids     []string               // primary first, in configuration order
	keks    map[string]cipher.AEAD // AES-256-GCM under each KEK
}

// Parse reads a spec "id:base64,id:base64,..." whose first entry is the
// primary. All problems are reported at once (errors.Join); no error text
// contains key material.
func Parse(spec string) (*Keyring, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New(`keyring: no keys configured (want "id:base64,...", first is primary)`)
	}
	k := &Keyring{keks: map[string]cipher.AEAD{}}
	seen := map[string]bool{}
	var problems []error
	bad := func(n int, id, format string, args ...any) {
		where := "key " + strconv.Itoa(n)
		if id != "" {
			where += " (" + strconv.Quote(id) + ")"
		}
		problems = append(problems, fmt.Errorf("keyring: %s: %s", where, fmt.Sprintf(format, args...)))
	}
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			bad(n, "", "empty entry")
			continue
		}
		id, enc, ok := strings.Cut(entry, ":")
		if !ok {
			bad(n, "", `want "id:base64"`)
			continue
		}
		id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
		named := "" // the id as shown in messages, only once known to be an id
		switch {
		case !validID(id):
			bad(n, "", "key id must be 1 to %d characters of A-Z a-z 0-9 _ -", MaxIDLen)
		case seen[id]:
			bad(n, id, "duplicate key id")
		default:
			named = id
		}
		seen[id] = true
		key, err := decodeKey(enc)
		if err != nil {
			bad(n, named, "%v", err)
		}
		if named == "" || err != nil {
			clear(key)
			continue
		}
		aead := newGCM(key)
		clear(key)
		k.ids = append(k.ids, id)
		k.keks[id] = aead
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	k.primary = k.ids[0]
	return k, nil
}

// Generate returns a new spec entry "k<unix seconds>:base64(32 random bytes)"
// to put in front of the configured keys.
func Generate() string {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // never returns an error since Go 1.24
	defer clear(key)
	return "k" + strconv.FormatInt(time.Now().Unix(), 10) + ":" + base64.StdEncoding.EncodeToString(key)
}

// Primary is the id of the key Seal and Rewrap wrap under.
func (k *Keyring) Primary() string { return k.primary }

// IDs lists every key id, primary first, in configuration order.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// String describes the keyring by its ids only.
func (k *Keyring) String() string {
	if k == nil {
		return "keyring(nil)"
	}
	return fmt.Sprintf("keyring(primary=%s, keys=%v)", k.primary, k.ids)
}

// GoString is String, so %#v shows no key material either.
func (k *Keyring) GoString() string { return k.String() }

// Format prints String for every verb, so no verb (%d, %+v, ...) can reach
// the key schedules.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Seal encrypts plaintext under a fresh DEK wrapped by the primary KEK, both
// bound to aad (see AAD). The result is self-describing; see the package
// documentation for its layout.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	dek := make([]byte, KeySize)
	defer clear(dek)
	if _, err := rand.Read(dek); err != nil {
		return nil, fmt.Errorf("keyring: data key: %w", err)
	}
	data := newGCM(dek)
	out := make([]byte, 0, Overhead+len(k.primary)+len(plaintext))
	out = append(out, version, byte(len(k.primary)))
	out = append(out, k.primary...)
	// nil nonces: both AEADs come from cipher.NewGCMWithRandomNonce, which draws
	// a fresh random nonce per call and prepends it.
	out = k.keks[k.primary].Seal(out, nil, dek, aad) //nolint:gosec // G407: random nonce, see above
	out = data.Seal(out, nil, plaintext, aad)        //nolint:gosec // G407: random nonce, see above
	return out, nil
}

// Open decrypts a value produced by Seal (or Rewrap) with the same aad. Every
// failure wraps ErrUndecryptable.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	v, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	dek, err := k.unwrap(v, aad)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	plaintext, err := newGCM(dek).Open(nil, nil, v.data, aad)
	if err != nil {
		return nil, undecryptable("data authentication failed (tampered, or another row's aad)")
	}
	return plaintext, nil
}

// Rewrapper re-encrypts sealed values under the primary key; a Keyring is
// one.
type Rewrapper interface {
	Rewrap(sealed, aad []byte) ([]byte, bool, error)
	Primary() string
}

// Sealed is one stored value to rewrap: its ciphertext, the additional data
// it is bound to, and what to call it in an error.
type Sealed struct {
	Value, AAD []byte
	Name       string
}

// RewrapAll moves n stored values to the primary key: value(i) is the i-th,
// store(i, sealed) writes it back re-encrypted. Values already under the
// primary are left alone. It returns how many moved, stopping at the first
// error.
//
// The values are read before they are rewrapped and stored, so one may be
// rotated (or rewritten by another rewrap) in between. store must write
// only if the stored value is still value(i) — a compare-and-set on the
// ciphertext — and report false when it was not: the newer value is kept
// as its writer sealed it, and is not counted as moved.
func RewrapAll(keys Rewrapper, n int, value func(i int) Sealed, store func(i int, sealed []byte) (bool, error)) (int, error) {
	moved := 0
	for i := range n {
		v := value(i)
		out, changed, err := keys.Rewrap(v.Value, v.AAD)
		if err != nil {
			return moved, fmt.Errorf("rewrap %s: %w", v.Name, err)
		}
		if !changed {
			continue
		}
		stored, err := store(i, out)
		if err != nil {
			return moved, err
		}
		if stored {
			moved++
		}
	}
	return moved, nil
}

// Rewrap re-encrypts the DEK of sealed under the primary KEK and returns the
// new value with the data ciphertext copied unchanged. A value already under
// the primary is returned as is, with changed false and no cryptography
// done. The aad must be the one sealed is bound to.
func (k *Keyring) Rewrap(sealed, aad []byte) (out []byte, changed bool, err error) {
	v, err := parse(sealed)
	if err != nil {
		return nil, false, err
	}
	if v.kid == k.primary {
		return sealed, false, nil
	}
	dek, err := k.unwrap(v, aad)
	if err != nil {
		return nil, false, err
	}
	defer clear(dek)
	out = make([]byte, 0, Overhead+len(k.primary)+len(v.data)-nonceSize-tagSize)
	out = append(out, version, byte(len(k.primary)))
	out = append(out, k.primary...)
	out = k.keks[k.primary].Seal(out, nil, dek, aad) //nolint:gosec // G407: NewGCMWithRandomNonce draws the nonce
	out = append(out, v.data...)
	return out, true, nil
}

// KeyID reports the id of the KEK that wraps sealed, whether or not this
// keyring holds it. It checks the layout only, not authenticity.
func (k *Keyring) KeyID(sealed []byte) (string, error) {
	v, err := parse(sealed)
	if err != nil {
		return "", err
	}
	return v.kid, nil
}

// AAD encodes parts unambiguously as additional authenticated data: each
// part is preceded by its length as a 4-byte big-endian integer, so
// ("ab", "c") and ("a", "bc") differ, as do () and ("").
func AAD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// value is a parsed, not yet authenticated, sealed value.
type value struct {
	kid     string
	wrapped []byte // nonce | wrapped DEK | tag
	data    []byte // nonce | ciphertext | tag
}

func parse(b []byte) (value, error) {
	if len(b) < 2 {
		return value{}, undecryptable("truncated (%d bytes)", len(b))
	}
	if b[0] != version {
		return value{}, undecryptable("unsupported format version %d", b[0])
	}
	n := int(b[1])
	if n < 1 || n > MaxIDLen {
		return value{}, undecryptable("bad key id length %d", n)
	}
	if len(b) < 2+n+wrappedSize+nonceSize+tagSize {
		return value{}, undecryptable("truncated (%d bytes)", len(b))
	}
	kid := string(b[2 : 2+n])
	if !validID(kid) {
		return value{}, undecryptable("malformed key id")
	}
	rest := b[2+n:]
	return value{kid: kid, wrapped: rest[:wrappedSize], data: rest[wrappedSize:]}, nil
}

func (k *Keyring) unwrap(v value, aad []byte) ([]byte, error) {
	kek := k.keks[v.kid]
	if kek == nil {
		return nil, fmt.Errorf("%w: %w %q (keyring has %v)", ErrUndecryptable, ErrUnknownKey, v.kid, k.ids)
	}
	dek, err := kek.Open(nil, nil, v.wrapped, aad)
	if err != nil {
		return nil, undecryptable("data key authentication failed under %q (tampered, or another row's aad)", v.kid)
	}
	return dek, nil
}

func undecryptable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUndecryptable, fmt.Sprintf(format, args...))
}

// newGCM returns AES-256-GCM under key with a random 12-byte nonce that
// Seal prepends to its output and Open reads back from its input.
func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("keyring: " + err.Error()) // unreachable: keys are KeySize bytes
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic("keyring: " + err.Error()) // unreachable for AES
	}
	return aead
}

// validID reports whether id is 1 to MaxIDLen characters of [A-Za-z0-9_-].
func validID(id string) bool {
	if len(id) < 1 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// decodeKey decodes standard or URL-safe base64, padded or not, to exactly
// KeySize bytes. Its errors never quote the input.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("no key after the colon")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			clear(key)
			continue
		}
		if len(key) != KeySize {
			clear(key)
			return nil, fmt.Errorf("key decodes to %d bytes, want %d", len(key), KeySize)
		}
		return key, nil
	}
	return nil, errors.New("key is not valid base64 (standard or URL-safe)")
}

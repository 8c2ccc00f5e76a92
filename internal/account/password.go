package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id costs a password is hashed with. They are written
// into every hash, so they can be raised at any time: older hashes still
// verify, and are rehashed with the current Params at the next sign-in.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams are the OWASP password storage recommendation for argon2id
// (19 MiB, 2 passes, 1 lane): about 30 ms on one core of a current server.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on the parameters a stored hash may ask for, so a tampered
	// hash cannot make a verification allocate gigabytes or spin for minutes.
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 64
	maxThreads = 64
)

var b64 = base64.RawStdEncoding

var errMalformedHash = errors.New("malformed argon2id hash")

// Hasher hashes and verifies passwords with argon2id. At most a few hashes
// run at once (twice the number of CPUs): each costs Params.Memory, and a
// flood of sign-ins must queue rather than exhaust memory.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     string

	derivations atomic.Int64 // argon2id runs, for the tests that compare code paths
}

// NewHasher returns a Hasher making hashes with p (DefaultParams when zero).
func NewHasher(p Params) *Hasher {
	if p == (Params{}) {
		p = DefaultParams
	}
	return &Hasher{params: p, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
}

// Hash returns the PHC string of password with a fresh salt:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params, keyLen)
	if err != nil {
		return "", err
	}
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time. A malformed hash is an error, not a mismatch.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends what Verify spends on a hash made with the current
// Params, and returns false: sign-ins for an unknown email take as long as
// sign-ins with a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		salt := make([]byte, saltLen)
		h.dummy = encodeHash(h.params, salt, make([]byte, keyLen))
	})
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// NeedsRehash reports whether encoded was made with other parameters than
// the current ones (or is not a hash this Hasher can read).
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decodeHash(encoded)
	return err != nil || p != h.params || len(salt) != saltLen || len(key) != keyLen
}

// derive runs argon2id once a slot is free, or gives up with ctx.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params, n uint32) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	h.derivations.Add(1)
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, n), nil
}

func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string, refusing other algorithms,
// versions, and parameters outside sane bounds.
func decodeHash(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, errMalformedHash
	}
	var p Params
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) != parts[3] {
		return Params{}, nil, nil, errMalformedHash
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime ||
		p.Threads < 1 || p.Threads > maxThreads {
		return Params{}, nil, nil, errMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, errMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}

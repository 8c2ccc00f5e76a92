// Package auth holds API keys and roles: minting keys, recognising them,
// resolving a presented key to the tenant and role it acts for.
//
// A key looks like aias_<30 base62 random chars><6 base62 checksum chars>.
// The prefix and the CRC32 checksum let secret scanners (and AIAS itself)
// recognise a leaked key without a database lookup. Only the SHA-256 of the
// key is stored; the key is shown once, when it is minted.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"math/big"
	"strings"
)

// KeyPrefix starts every AIAS API key.
const KeyPrefix = "aias_"

const (
	randomLen   = 30 // 30 base62 chars ≈ 178 bits
	checksumLen = 6
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewKey mints a fresh API key.
func NewKey() string {
	body := randomBase62(randomLen)
	return KeyPrefix + body + checksum(body)
}

// WellFormed reports whether s has the shape and checksum of an AIAS key.
func WellFormed(s string) bool {
	if !strings.HasPrefix(s, KeyPrefix) || len(s) != len(KeyPrefix)+randomLen+checksumLen {
		return false
	}
	body := s[len(KeyPrefix) : len(s)-checksumLen]
	for i := range len(body) {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	return checksum(body) == s[len(s)-checksumLen:]
}

// Hash is what the database stores for a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// DisplayPrefix is the part of a key safe to show in lists.
func DisplayPrefix(key string) string {
	if len(key) < 12 {
		return key
	}
	return key[:12]
}

func checksum(body string) string {
	return encodeBase62(uint64(crc32.ChecksumIEEE([]byte(body))), checksumLen)
}

func encodeBase62(v uint64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62[v%62]
		v /= 62
	}
	return string(b)
}

func randomBase62(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		r, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("auth: system random source failed: " + err.Error())
		}
		b[i] = base62[r.Int64()]
	}
	return string(b)
}

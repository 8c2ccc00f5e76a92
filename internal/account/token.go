package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenBytes of randomness make every token (sign-in, invitation, reset):
// 256 bits, rendered as 43 characters of unpadded base64url, safe in a
// cookie and in a URL query without escaping.
const (
	tokenBytes = 32
	tokenLen   = 43
)

var b64url = base64.RawURLEncoding

// newToken returns a fresh random token.
func newToken() string {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		panic("account: system random source failed: " + err.Error())
	}
	return b64url.EncodeToString(b)
}

// wellFormed reports whether s has the shape of a token, so garbage is
// refused before any database work.
func wellFormed(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	b, err := b64url.DecodeString(s)
	return err == nil && len(b) == tokenBytes
}

// hashToken is what the database stores for a token.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// csrfLabel separates the CSRF derivation from any other use of the token.
const csrfLabel = "aias csrf v1"

// CSRFToken is the anti-forgery token of the sign-in whose token is
// sessionToken: HMAC-SHA256 keyed by the sign-in token, so it needs no
// storage, differs for every sign-in, dies with it, and reveals nothing of
// the cookie it comes from. Pages put it in a hidden form field (csrf_token)
// and in a <meta> element for fetch, which sends it as X-CSRF-Token.
func CSRFToken(sessionToken string) string {
	mac := hmac.New(sha256.New, []byte(sessionToken))
	mac.Write([]byte(csrfLabel))
	return b64url.EncodeToString(mac.Sum(nil))
}

// VerifyCSRF reports, in constant time, whether presented is the CSRF token
// of the sign-in whose token is sessionToken. Empty values never verify.
func VerifyCSRF(sessionToken, presented string) bool {
	if sessionToken == "" || presented == "" {
		return false
	}
	return hmac.Equal([]byte(CSRFToken(sessionToken)), []byte(presented))
}

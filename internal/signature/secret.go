package signature

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"aias/internal/errs"
)

// secretBytes is the entropy of a generated secret: 256 bits, the security
// level of HMAC-SHA256, within Standard Webhooks' 24..64-byte range.
const secretBytes = 32

// whsecPrefix marks Standard Webhooks (and Stripe) secrets.
const whsecPrefix = "whsec_"

// Secret is one signing secret in clear: the HMAC key bytes (decryption
// happens elsewhere). It prints as "[redacted]" so it cannot leak through a
// log line by accident.
type Secret []byte

// String hides the key.
func (Secret) String() string { return "[redacted]" }

// GoString hides the key from %#v.
func (Secret) GoString() string { return "signature.Secret([redacted])" }

// NewSecret generates a secret for the scheme and returns its display form,
// the one the tenant copies into the sender: "whsec_" + base64 for
// standard-webhooks and stripe, 64 hex characters for the others.
func NewSecret(scheme string) (string, error) {
	if err := checkSigningScheme(scheme); err != nil {
		return "", err
	}
	b := make([]byte, secretBytes)
	// Since Go 1.24 rand.Read never returns an error: it crashes instead.
	rand.Read(b)
	switch scheme {
	case StandardWebhooks, Stripe:
		return whsecPrefix + base64.StdEncoding.EncodeToString(b), nil
	default:
		return hex.EncodeToString(b), nil
	}
}

// KeyBytes turns the display form of a secret into the HMAC key bytes.
// Standard Webhooks keys are the base64 payload after "whsec_"; Stripe signs
// with the literal secret string, prefix included; the others use the string
// as given. Surrounding whitespace is kept: it would be part of the key.
func KeyBytes(scheme, display string) (Secret, error) {
	if err := checkSigningScheme(scheme); err != nil {
		return nil, err
	}
	if display == "" {
		return nil, invalidSecret("the secret is empty")
	}
	if scheme != StandardWebhooks {
		return Secret(display), nil
	}
	raw := strings.TrimPrefix(display, whsecPrefix)
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, invalidSecret("a standard-webhooks secret is \"whsec_\" followed by base64")
	}
	return key, nil
}

func checkSigningScheme(scheme string) error {
	switch {
	case scheme == Token:
		return errs.E(errs.Invalid, "no_signing_secret", "scheme \"token\" uses no signing secret")
	case !Known(scheme):
		return errs.E(errs.Invalid, "unknown_scheme", "unknown verification scheme")
	}
	return nil
}

func invalidSecret(msg string) error {
	return errs.Validation("invalid signing secret", errs.FieldError{Path: "secret", Message: msg})
}

package signature

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"aias/internal/errs"
)

func TestNewSecretFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scheme  string
		pattern string
		keyLen  int
	}{
		{StandardWebhooks, `^whsec_[A-Za-z0-9+/]{43}=$`, 32},
		{Stripe, `^whsec_[A-Za-z0-9+/]{43}=$`, 50},
		{GitHub, `^[0-9a-f]{64}$`, 64},
		{Slack, `^[0-9a-f]{64}$`, 64},
		{Shopify, `^[0-9a-f]{64}$`, 64},
		{HMAC, `^[0-9a-f]{64}$`, 64},
	}
	for _, tc := range tests {
		t.Run(tc.scheme, func(t *testing.T) {
			t.Parallel()
			a, err := NewSecret(tc.scheme)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := NewSecret(tc.scheme)
			if a == b {
				t.Error("two secrets are equal")
			}
			if !regexp.MustCompile(tc.pattern).MatchString(a) {
				t.Errorf("secret %q does not match %s", a, tc.pattern)
			}
			key, err := KeyBytes(tc.scheme, a)
			if err != nil {
				t.Fatalf("KeyBytes of a generated secret: %v", err)
			}
			if len(key) != tc.keyLen {
				t.Errorf("key is %d bytes, want %d", len(key), tc.keyLen)
			}
		})
	}
}

func TestKeyBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, scheme, display string
		want                  string // key bytes; "" means an error
	}{
		{"standard-webhooks strips whsec_ and decodes", StandardWebhooks, "whsec_aGVsbG8gd29ybGQ=", "hello world"},
		{"standard-webhooks without prefix decodes", StandardWebhooks, "aGVsbG8gd29ybGQ=", "hello world"},
		{"standard-webhooks rejects non-base64", StandardWebhooks, "whsec_not base64!", ""},
		{"standard-webhooks rejects an empty key", StandardWebhooks, "whsec_", ""},
		{"stripe keeps the literal string", Stripe, "whsec_abc", "whsec_abc"},
		{"github keeps the string", GitHub, "It's a Secret to Everybody", "It's a Secret to Everybody"},
		{"hmac keeps surrounding spaces", HMAC, " k ", " k "},
		{"empty secret", Slack, "", ""},
		{"token has no secret", Token, "x", ""},
		{"unknown scheme", "paypal", "x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := KeyBytes(tc.scheme, tc.display)
			if tc.want == "" {
				if err == nil || errs.KindOf(err) != errs.Invalid {
					t.Fatalf("KeyBytes = %q, %v; want an invalid error", got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("KeyBytes = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSecretDoesNotPrint(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	for _, verb := range []string{"%v", "%s", "%q", "%x", "%#v", "%+v"} {
		if out := fmt.Sprintf(verb, s); strings.Contains(out, "hunter2") || strings.Contains(out, "68756e74657232") {
			t.Errorf("%s printed the secret: %s", verb, out)
		}
	}
}

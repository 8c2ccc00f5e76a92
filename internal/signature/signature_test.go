package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"aias/internal/errs"
)

func TestSchemesAreSortedAndKnown(t *testing.T) {
	t.Parallel()
	got := Schemes()
	want := []string{GitHub, HMAC, Shopify, Slack, StandardWebhooks, Stripe, Token}
	if !slices.Equal(got, want) {
		t.Fatalf("Schemes() = %v, want %v", got, want)
	}
	for _, s := range got {
		if !Known(s) {
			t.Errorf("Known(%q) = false", s)
		}
	}
	for _, s := range []string{"", "GitHub", "paypal"} {
		if Known(s) {
			t.Errorf("Known(%q) = true", s)
		}
	}
	got[0] = "mutated"
	if Schemes()[0] != GitHub {
		t.Error("Schemes returns shared state")
	}
}

func TestVerifyConfigurationErrorsAreNotFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings Settings
		secrets  []Secret
		kind     errs.Kind
		code     string
	}{
		{"invalid settings", Settings{Scheme: "paypal"}, []Secret{keyOld}, errs.Invalid, "validation_failed"},
		{"no secrets", Settings{Scheme: GitHub}, nil, errs.Conflict, "no_signing_secret"},
		{"only empty secrets", Settings{Scheme: Stripe}, []Secret{{}, nil}, errs.Conflict, "no_signing_secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(tc.settings, tc.secrets, Request{Header: http.Header{}, Body: []byte("{}")}, now)
			var f *Failure
			if errors.As(err, &f) {
				t.Fatalf("got a Failure %v, want a configuration error", f)
			}
			if errs.KindOf(err) != tc.kind || errs.CodeOf(err) != tc.code {
				t.Fatalf("Verify = %v (%s/%s), want %s/%s", err, errs.KindOf(err), errs.CodeOf(err), tc.kind, tc.code)
			}
		})
	}
}

func TestVerifyToleratesNilHeader(t *testing.T) {
	t.Parallel()
	for _, scheme := range Schemes() {
		s := Settings{Scheme: scheme}
		if scheme == HMAC {
			s.Header = "X-Sig"
		}
		_, err := Verify(s, []Secret{keyOld}, Request{Body: []byte("x")}, now)
		var f *Failure
		if scheme != Token && (!errors.As(err, &f) || f.Reason != ReasonMissingHeader) {
			t.Errorf("%s: Verify = %v, want missing_header", scheme, err)
		}
	}
}

func TestFailureIsUnauthorized(t *testing.T) {
	t.Parallel()
	f := &Failure{Reason: ReasonBadSignature, Detail: "no match"}
	if errs.KindOf(f) != errs.Unauthorized || errs.CodeOf(f) != "signature_rejected" {
		t.Errorf("KindOf = %s, CodeOf = %s", errs.KindOf(f), errs.CodeOf(f))
	}
	if got := f.Error(); got != "signature rejected: bad_signature: no match" {
		t.Errorf("Error() = %q", got)
	}
}

// A rejection log line must not help an attacker: neither the secret nor the
// signature we expected may appear in it.
func TestFailureLeaksNoSecretMaterial(t *testing.T) {
	t.Parallel()
	body := []byte(testBody)
	m := hmac.New(sha256.New, keyOld)
	m.Write(body)
	expected := m.Sum(nil)
	forbidden := []string{string(keyOld), hex.EncodeToString(expected), base64.StdEncoding.EncodeToString(expected)}

	fixtures := []fixture{swFixture, stripeFixture, githubFixture, slackFixture, shopifyFixture, genericTimestamped, genericPlain}
	for _, fx := range fixtures {
		h := signWith(t, fx.settings, keyNew, testBody)
		_, err := Verify(fx.settings, []Secret{keyOld}, Request{Header: h, Body: body}, now)
		if err == nil {
			t.Fatalf("%s: accepted a wrong key", fx.settings.Scheme)
		}
		for _, s := range forbidden {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: failure %q contains secret material", fx.settings.Scheme, err)
			}
		}
	}
}

func TestSignRejectsWhatCannotBeSigned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings Settings
		key      Secret
		id       string
		ts       time.Time
	}{
		{"invalid settings", Settings{Scheme: HMAC}, keyOld, testID, now},
		{"empty secret", Settings{Scheme: GitHub}, nil, testID, now},
		{"standard-webhooks without id", Settings{Scheme: StandardWebhooks}, keyOld, "", now},
		{"timestamp before 1970", Settings{Scheme: Stripe}, keyOld, testID, time.Unix(-1, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if h, err := Sign(tc.settings, tc.key, tc.id, tc.ts, []byte("{}")); err == nil {
				t.Fatalf("Sign = %v, want an error", h)
			}
		})
	}
}

func TestWindowBoundaryIsInclusive(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
		if f := checkWindow(now.Add(skew), now, 5*time.Minute); f != nil {
			t.Errorf("skew %s rejected: %v", skew, f)
		}
	}
}

package signature

import (
	"net/http"
	"strings"
	"testing"
)

var stripeFixture = fixture{
	settings: Settings{Scheme: Stripe},
	sig:      part{header: "Stripe-Signature", before: "v1=", after: ","},
	enc:      encHex,
	ts:       &part{header: "Stripe-Signature", before: "t=", after: ","},
	wantID:   "evt_1",
}

func TestVerifyStripe(t *testing.T) {
	t.Parallel()
	setSig := func(v string) func(*testing.T, http.Header, []byte) []byte {
		return func(_ *testing.T, h http.Header, body []byte) []byte {
			h.Set("Stripe-Signature", v)
			return body
		}
	}
	// v1Of returns the "v1=<hex>" item of a header signed with key.
	v1Of := func(t *testing.T, key Secret, body []byte) string {
		v := signWith(t, stripeFixture.settings, key, string(body)).Get("Stripe-Signature")
		return v[strings.Index(v, "v1="):]
	}
	cases := append(commonCases(stripeFixture),
		verifyCase{name: "rotation: both signatures in one header", secrets: []Secret{keyOld, keyNew},
			mutate: func(t *testing.T, h http.Header, body []byte) []byte {
				h.Set("Stripe-Signature", h.Get("Stripe-Signature")+","+v1Of(t, keyNew, body))
				return body
			}},
		verifyCase{name: "rotation: new secret signed, next to an unknown signature", signer: keyNew, secrets: []Secret{keyOld, keyNew},
			mutate: func(t *testing.T, h http.Header, body []byte) []byte {
				h.Set("Stripe-Signature", h.Get("Stripe-Signature")+","+v1Of(t, keyThird, body))
				return body
			}},
		verifyCase{name: "v0 and unknown schemes are ignored",
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("Stripe-Signature", h.Get("Stripe-Signature")+",v0=6ffbb59b2300aae63f27,v9=x")
				return body
			}},
		verifyCase{name: "only v0 is an unknown version", want: ReasonUnknownVersion,
			mutate: setSig("t=1700000000,v0=6ffbb59b2300aae63f27")},
		verifyCase{name: "no timestamp is malformed", want: ReasonMalformedHeader,
			mutate: setSig("v1=" + strings.Repeat("ab", 32))},
		verifyCase{name: "two timestamps are malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("Stripe-Signature", "t=1700000000,"+h.Get("Stripe-Signature"))
				return body
			}},
		verifyCase{name: "item without '=' is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("Stripe-Signature", h.Get("Stripe-Signature")+",junk")
				return body
			}},
		verifyCase{name: "body without id falls back to Idempotency-Key",
			mutate: func(t *testing.T, h http.Header, _ []byte) []byte {
				body := []byte(`{"object":"event"}`)
				h.Set("Stripe-Signature", signWith(t, stripeFixture.settings, keyOld, string(body)).Get("Stripe-Signature"))
				h.Set("Idempotency-Key", "evt_1")
				return body
			}},
	)
	runVerifyCases(t, stripeFixture, cases)
}

func TestParseStripeHeaderKeepsEveryV1(t *testing.T) {
	t.Parallel()
	sig, f := parseStripeHeader("t=12, v1=" + strings.Repeat("00", 32) + ",v0=zz,v1=" + strings.Repeat("ff", 32))
	if f != nil {
		t.Fatal(f)
	}
	if sig.rawTS != "12" || len(sig.v1) != 2 {
		t.Fatalf("parsed %q with %d v1 signatures, want \"12\" with 2", sig.rawTS, len(sig.v1))
	}
}

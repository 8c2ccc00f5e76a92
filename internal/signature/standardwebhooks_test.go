package signature

import (
	"net/http"
	"testing"
)

var swFixture = fixture{
	settings: Settings{Scheme: StandardWebhooks},
	sig:      part{header: "webhook-signature", before: "v1,"},
	enc:      encBase64,
	ts:       &part{header: "webhook-timestamp"},
	id:       &part{header: "webhook-id"},
	wantID:   testID,
	required: []string{"webhook-id", "webhook-timestamp"},
}

func TestVerifyStandardWebhooks(t *testing.T) {
	t.Parallel()
	setSig := func(v string) func(*testing.T, http.Header, []byte) []byte {
		return func(_ *testing.T, h http.Header, body []byte) []byte {
			h.Set("webhook-signature", v)
			return body
		}
	}
	cases := append(commonCases(swFixture),
		verifyCase{name: "rotation: both signatures in one header", secrets: []Secret{keyOld, keyNew},
			mutate: func(t *testing.T, h http.Header, body []byte) []byte {
				other := signWith(t, swFixture.settings, keyNew, string(body))
				h.Set("webhook-signature", other.Get("webhook-signature")+" "+h.Get("webhook-signature"))
				return body
			}},
		verifyCase{name: "rotation: only a third secret's signatures in the list", signer: keyThird,
			secrets: []Secret{keyOld, keyNew}, want: ReasonBadSignature,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("webhook-signature", h.Get("webhook-signature")+" "+h.Get("webhook-signature"))
				return body
			}},
		verifyCase{name: "other versions next to v1 are ignored",
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("webhook-signature", "v1a,c2lnbmF0dXJl "+h.Get("webhook-signature")+" v2,abc")
				return body
			}},
		verifyCase{name: "only v1a signatures is an unknown version", want: ReasonUnknownVersion,
			mutate: setSig("v1a,c2lnbmF0dXJl v2,abc")},
		verifyCase{name: "entry without a version is malformed", want: ReasonMalformedHeader,
			mutate: setSig("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")},
		verifyCase{name: "duplicated id header is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Add("webhook-id", "other")
				return body
			}},
		verifyCase{name: "duplicated timestamp header is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Add("webhook-timestamp", h.Get("webhook-timestamp"))
				return body
			}},
		verifyCase{name: "svix header names are accepted",
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				for _, n := range []string{"id", "timestamp", "signature"} {
					h.Set("svix-"+n, h.Get("webhook-"+n))
					h.Del("webhook-" + n)
				}
				return body
			}},
		verifyCase{name: "webhook names win over svix names", want: ReasonMissingHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("svix-signature", h.Get("webhook-signature"))
				h.Del("webhook-signature")
				return body
			}},
	)
	runVerifyCases(t, swFixture, cases)
}

func TestParseSignatureListKeepsEveryV1(t *testing.T) {
	t.Parallel()
	sigs, f := parseSignatureList("h", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=  v1a,x v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE")
	if f != nil {
		t.Fatal(f)
	}
	if len(sigs) != 2 {
		t.Fatalf("got %d signatures, want 2", len(sigs))
	}
}

package signature

import (
	"net/http"
	"strings"
	"testing"
)

var (
	genericTimestamped = fixture{
		settings: Settings{
			Scheme: HMAC, Header: "X-Signature", Prefix: "sha256=",
			TimestampHeader: "X-Timestamp", DeliveryIDHeader: "X-Delivery",
		},
		sig:      part{header: "X-Signature", before: "sha256="},
		enc:      encHex,
		ts:       &part{header: "X-Timestamp"},
		wantID:   testID,
		required: []string{"X-Timestamp"},
	}
	genericPlain = fixture{
		settings: Settings{Scheme: HMAC, Header: "x-sig", Algorithm: "sha512", Encoding: "base64url"},
		sig:      part{header: "X-Sig"},
		enc:      encBase64URL,
	}
	genericLegacy = fixture{
		settings: Settings{Scheme: HMAC, Header: "X-Hub-Signature", Algorithm: "SHA1", Prefix: "sha1="},
		sig:      part{header: "X-Hub-Signature", before: "sha1="},
		enc:      encHex,
	}
)

func TestVerifyGenericTimestamped(t *testing.T) {
	t.Parallel()
	cases := append(commonCases(genericTimestamped),
		verifyCase{name: "missing prefix is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("X-Signature", strings.TrimPrefix(h.Get("X-Signature"), "sha256="))
				return body
			}},
	)
	runVerifyCases(t, genericTimestamped, cases)
}

func TestVerifyGenericPlain(t *testing.T) {
	t.Parallel()
	runVerifyCases(t, genericPlain, commonCases(genericPlain))
}

func TestVerifyGenericSHA1(t *testing.T) {
	t.Parallel()
	runVerifyCases(t, genericLegacy, commonCases(genericLegacy))
}

func TestDecodePrefixed(t *testing.T) {
	t.Parallel()
	sig32 := strings.Repeat("\xab", 32)
	tests := []struct {
		name, value, prefix, enc string
		want                     string // reason, "" for success
	}{
		{"hex", "sha256=" + encodeSig(encHex, []byte(sig32)), "sha256=", encHex, ""},
		{"base64 padded", encodeSig(encBase64, []byte(sig32)), "", encBase64, ""},
		{"base64 unpadded", strings.TrimRight(encodeSig(encBase64, []byte(sig32)), "="), "", encBase64, ""},
		{"base64url", encodeSig(encBase64URL, []byte(sig32)), "", encBase64URL, ""},
		{"wrong prefix", "sha1=" + encodeSig(encHex, []byte(sig32)), "sha256=", encHex, ReasonMalformedHeader},
		{"odd hex", encodeSig(encHex, []byte(sig32))[1:], "", encHex, ReasonMalformedHeader},
		{"short", encodeSig(encHex, []byte(sig32[1:])), "", encHex, ReasonMalformedHeader},
		{"long", encodeSig(encHex, []byte(sig32+"x")), "", encHex, ReasonMalformedHeader},
		{"base64url chars in base64", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6_", "", encBase64, ReasonMalformedHeader},
		{"empty", "", "", encHex, ReasonMalformedHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, f := decodePrefixed("X-Sig", tc.value, tc.prefix, tc.enc, 32)
			switch {
			case tc.want == "" && f != nil:
				t.Fatalf("rejected: %v", f)
			case tc.want == "" && string(got) != sig32:
				t.Fatalf("decoded %x", got)
			case tc.want != "" && (f == nil || f.Reason != tc.want):
				t.Fatalf("got %v, want %s", f, tc.want)
			}
		})
	}
}

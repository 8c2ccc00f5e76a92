package signature

import (
	"net/http"
	"strings"
	"testing"
)

var githubFixture = fixture{
	settings: Settings{Scheme: GitHub},
	sig:      part{header: "X-Hub-Signature-256", before: "sha256="},
	enc:      encHex,
	wantID:   testID,
}

func TestVerifyGitHub(t *testing.T) {
	t.Parallel()
	cases := append(commonCases(githubFixture),
		verifyCase{name: "uppercase hex passes",
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				v := h.Get("X-Hub-Signature-256")
				h.Set("X-Hub-Signature-256", "sha256="+strings.ToUpper(strings.TrimPrefix(v, "sha256=")))
				return body
			}},
		verifyCase{name: "missing sha256= prefix is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("X-Hub-Signature-256", strings.TrimPrefix(h.Get("X-Hub-Signature-256"), "sha256="))
				return body
			}},
		verifyCase{name: "only the SHA-1 header is an unknown version", want: ReasonUnknownVersion,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Del("X-Hub-Signature-256")
				h.Set("X-Hub-Signature", "sha1="+strings.Repeat("ab", 20))
				return body
			}},
	)
	runVerifyCases(t, githubFixture, cases)
}

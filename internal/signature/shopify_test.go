package signature

import (
	"net/http"
	"strings"
	"testing"
)

var shopifyFixture = fixture{
	settings: Settings{Scheme: Shopify},
	sig:      part{header: "X-Shopify-Hmac-Sha256"},
	enc:      encBase64,
	wantID:   testID,
}

func TestVerifyShopify(t *testing.T) {
	t.Parallel()
	cases := append(commonCases(shopifyFixture),
		verifyCase{name: "unpadded base64 passes",
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("X-Shopify-Hmac-Sha256", strings.TrimRight(h.Get("X-Shopify-Hmac-Sha256"), "="))
				return body
			}},
		verifyCase{name: "hex instead of base64 is malformed", want: ReasonMalformedHeader,
			mutate: func(_ *testing.T, h http.Header, body []byte) []byte {
				h.Set("X-Shopify-Hmac-Sha256", strings.Repeat("ab", 32))
				return body
			}},
	)
	runVerifyCases(t, shopifyFixture, cases)
}

package signature

import (
	"testing"
	"time"
)

func TestSignVerifyRoundTripEveryScheme(t *testing.T) {
	t.Parallel()
	settings := map[string]Settings{
		Token:            {Scheme: Token},
		StandardWebhooks: {Scheme: StandardWebhooks},
		Stripe:           {Scheme: Stripe},
		GitHub:           {Scheme: GitHub},
		Slack:            {Scheme: Slack},
		Shopify:          {Scheme: Shopify},
	}
	for _, alg := range []string{"sha1", "sha256", "sha512"} {
		for _, enc := range []string{"hex", "base64", "base64url"} {
			for _, ts := range []string{"", "X-Timestamp"} {
				name := HMAC + "/" + alg + "/" + enc
				if ts != "" {
					name += "/timestamped"
				}
				settings[name] = Settings{
					Scheme: HMAC, Header: "X-Signature", Algorithm: alg, Encoding: enc,
					Prefix: alg + "=", TimestampHeader: ts, DeliveryIDHeader: "X-Delivery",
				}
			}
		}
	}
	for _, scheme := range Schemes() {
		if _, ok := settings[scheme]; !ok && scheme != HMAC {
			t.Errorf("scheme %q has no round-trip case", scheme)
		}
	}
	for name, s := range settings {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key := Secret("round-trip-key")
			ts := now.Add(-time.Minute)
			h, err := Sign(s, key, testID, ts, []byte(testBody))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			res, err := Verify(s, []Secret{key}, Request{Header: h, Body: []byte(testBody)}, now)
			if err != nil {
				t.Fatalf("Verify: %v (headers %v)", err, h)
			}
			if res.DeliveryID == "" {
				t.Error("no delivery id")
			}
			if s.Scheme == Token {
				return
			}
			if _, err := Verify(s, []Secret{Secret("another-key")}, Request{Header: h, Body: []byte(testBody)}, now); err == nil {
				t.Error("Verify accepted a signature made with another key")
			}
		})
	}
}

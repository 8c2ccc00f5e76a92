package signature

import (
	"net/http"
	"testing"
	"time"
)

// The published Standard Webhooks test vector (spec and reference libraries).
func TestStandardWebhooksPublishedVector(t *testing.T) {
	t.Parallel()
	key, err := KeyBytes(StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	const (
		id   = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		sig  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
		body = `{"test": 2432232314}`
	)
	ts := time.Unix(1614265330, 0)
	s := Settings{Scheme: StandardWebhooks}

	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", sig)
	res, err := Verify(s, []Secret{key}, Request{Header: h, Body: []byte(body)}, ts)
	if err != nil {
		t.Fatalf("Verify rejected the published vector: %v", err)
	}
	if res.DeliveryID != id || !res.Timestamp.Equal(ts) {
		t.Errorf("Result = %+v", res)
	}

	signed, err := Sign(s, key, id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := signed.Get("webhook-signature"); got != sig {
		t.Errorf("Sign = %q, want %q", got, sig)
	}
}

// GitHub's published example from "Validating webhook deliveries".
func TestGitHubPublishedVector(t *testing.T) {
	t.Parallel()
	key, err := KeyBytes(GitHub, "It's a Secret to Everybody")
	if err != nil {
		t.Fatal(err)
	}
	const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	body := []byte("Hello, World!")
	s := Settings{Scheme: GitHub}

	h := http.Header{"X-Hub-Signature-256": {sig}}
	if _, err := Verify(s, []Secret{key}, Request{Header: h, Body: body}, now); err != nil {
		t.Fatalf("Verify rejected the published vector: %v", err)
	}
	signed, err := Sign(s, key, "", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := signed.Get("X-Hub-Signature-256"); got != sig {
		t.Errorf("Sign = %q, want %q", got, sig)
	}
}

package signature

import (
	"testing"
	"time"
)

// A scheme whose signature covers no delivery id leaves the intake a body
// window against replays under a new id; one that signs its id does not.
func TestReplayWindowWhereTheSignatureDoesNotCoverTheDeliveryID(t *testing.T) {
	t.Parallel()
	withoutIDs := `{"type":"event_callback","data":{"n":42}}` // no "id" for stripe, no "event_id" for slack
	tests := []struct {
		name     string
		settings Settings
		body     string
		want     time.Duration
	}{
		{"token", Settings{Scheme: Token}, testBody, 0},
		{"standard-webhooks", Settings{Scheme: StandardWebhooks}, testBody, 0},
		{"stripe", Settings{Scheme: Stripe}, testBody, 0},
		{"slack", Settings{Scheme: Slack}, testBody, 0},
		{"github", Settings{Scheme: GitHub}, testBody, DefaultReplayWindow},
		{"shopify", Settings{Scheme: Shopify}, testBody, DefaultReplayWindow},
		{"hmac", Settings{Scheme: HMAC, Header: "X-Sig", DeliveryIDHeader: "X-Id"}, testBody, DefaultReplayWindow},
		{"hmac timestamped", Settings{Scheme: HMAC, Header: "X-Sig", TimestampHeader: "X-Ts", Tolerance: Duration(time.Minute)}, testBody, 2 * time.Minute},
		{"slack without event_id", Settings{Scheme: Slack}, withoutIDs, 10 * time.Minute},
		{"stripe without id", Settings{Scheme: Stripe}, withoutIDs, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := Secret("replay-window-key")
			h, err := Sign(tc.settings, key, testID, now, []byte(tc.body))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			res, err := Verify(tc.settings, []Secret{key}, Request{Header: h, Body: []byte(tc.body)}, now)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.ReplayWindow != tc.want {
				t.Errorf("ReplayWindow = %s, want %s", res.ReplayWindow, tc.want)
			}
		})
	}
}

package signature

import (
	"net/http"
	"testing"
)

func TestVerifyTokenAcceptsAnythingAndFindsTheDeliveryID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"no headers", nil, ""},
		{"idempotency key", http.Header{"Idempotency-Key": {"k1"}}, "k1"},
		{"webhook-id", http.Header{"Webhook-Id": {"msg_1"}}, "msg_1"},
		{"idempotency key wins", http.Header{"Idempotency-Key": {"k1"}, "Webhook-Id": {"msg_1"}}, "k1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Verify(Settings{Scheme: Token}, nil, Request{Header: tc.header, Body: []byte("x")}, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.DeliveryID != tc.want {
				t.Errorf("DeliveryID = %q, want %q", res.DeliveryID, tc.want)
			}
		})
	}
}

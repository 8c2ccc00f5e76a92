package stripemock_test

import (
	"net/http"
	"strings"
	"testing"

	"aias/internal/testutil/stripemock"
)

func TestStartServesTheStripeAPI(t *testing.T) {
	url := stripemock.Start(t)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url = %q", url)
	}
	req, err := http.NewRequest(http.MethodGet, url+"/v1/customers", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk_test_123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/customers = %d, want 200", resp.StatusCode)
	}
}

// Parallel tests each run their own stripe-mock: both must serve.
func TestTwoInstancesServeSideBySide(t *testing.T) {
	a, b := stripemock.Start(t), stripemock.Start(t)
	for _, url := range []string{a, b} {
		resp, err := http.Get(url + "/v1/customers")
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		_ = resp.Body.Close()
	}
}

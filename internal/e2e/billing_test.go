package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"aias/internal/testutil/stripemock"
)

const stripeSecret = "whsec_test_e2e_secret"

func stripeEvent(t *testing.T, id, typ string, object map[string]any) (string, []string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": object},
	})
	if err != nil {
		t.Fatal(err)
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeSecret, Timestamp: time.Now()})
	return string(body), []string{"Stripe-Signature", sp.Header}
}

// A Stripe subscription moves the tenant to its plan, and the runs held
// over the old plan's quota start.
func TestAStripeSubscriptionUpgradesTheTenantAndReleasesHeldRuns(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	plans := strings.Replace(tinyPlans, "concurrency: 10, held_runs: -1}", "concurrency: 10, held_runs: -1}\n    stripe_price_ids: [price_big]", 1)
	if err := os.WriteFile(file, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, options{env: map[string]string{
		"AIAS_PLANS_FILE": file, "STRIPE_WEBHOOK_SECRET": stripeSecret, "STRIPE_API_KEY": "sk_test_123",
		"STRIPE_API_BASE": stripemock.Start(t), "STRIPE_SUCCESS_URL": "https://example.com/ok", "STRIPE_CANCEL_URL": "https://example.com/no",
		"STRIPE_PORTAL_RETURN_URL": "https://example.com/back",
	}})
	tn := s.signupOn("payer", "tiny")
	url := s.createEndpoint(tn.Key, s.createWorkflow(tn.Key, echoWorkflow))
	var held string
	for range 4 {
		r := s.do("POST", url, "", "application/json", `{}`)
		if strings.Contains(r.String(), `"held"`) {
			var acc struct {
				RunID string `json:"run_id"`
			}
			r.json(t, &acc)
			held = acc.RunID
		}
	}
	if held == "" {
		t.Fatal("the fourth delivery on a quota of 3 was not held")
	}

	var co struct {
		URL string `json:"url"`
	}
	s.mustJSON("POST", "/api/v1/billing/checkout", tn.Key, map[string]string{"plan": "big", "email": "payer@example.com"}, 200, &co)
	if co.URL == "" {
		t.Error("checkout returned no URL")
	}

	forged, _ := stripeEvent(t, "evt_forged", "customer.subscription.updated", map[string]any{})
	if r := s.do("POST", "/api/stripe/webhook", "", "application/json", forged, "Stripe-Signature", "t=1,v1=00"); r.Status != 400 {
		t.Errorf("Stripe event with a wrong signature = %d, want 400", r.Status)
	}
	if r := s.do("POST", "/api/stripe/webhook", "", "application/json", "{not json"); r.Status != 400 {
		t.Errorf("malformed Stripe payload = %d, want 400", r.Status)
	}
	body, sig := stripeEvent(t, "evt_1", "checkout.session.completed", map[string]any{
		"id": "cs_1", "object": "checkout.session", "mode": "subscription",
		"client_reference_id": tn.ID, "customer": "cus_1", "subscription": "sub_1"})
	s.mustStripe(body, sig)
	body, sig = stripeEvent(t, "evt_2", "customer.subscription.updated", map[string]any{
		"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
		"current_period_end": time.Now().Add(720 * time.Hour).Unix(), "metadata": map[string]string{},
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "object": "subscription_item",
			"price": map[string]any{"id": "price_big", "object": "price"}}}}})
	s.mustStripe(body, sig)
	if r := s.do("POST", "/api/stripe/webhook", "", "application/json", body, sig...); r.Status != 200 || !strings.Contains(r.String(), `"duplicate":true`) {
		t.Errorf("the same Stripe event again = %d %s, want 200 duplicate", r.Status, r.Body)
	}
	var me struct {
		Plan string `json:"plan"`
	}
	s.mustJSON("GET", "/api/v1/me", tn.Key, nil, 200, &me)
	if me.Plan != "big" {
		t.Fatalf("plan after the subscription = %q, want big", me.Plan)
	}
	s.waitRun(tn.Key, held, "succeeded")
	var portal struct {
		URL string `json:"url"`
	}
	s.mustJSON("POST", "/api/v1/billing/portal", tn.Key, nil, 200, &portal)
	if portal.URL == "" {
		t.Error("portal returned no URL")
	}
}

func (s *system) mustStripe(body string, sig []string) {
	s.t.Helper()
	if r := s.do("POST", "/api/stripe/webhook", "", "application/json", body, sig...); r.Status != 200 {
		s.t.Fatalf("Stripe event = %d %s, want 200", r.Status, r.Body)
	}
}

package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"aias/internal/testutil/stripemock"
	"aias/pkg/aias"
)

const stripeSecret = "whsec_test_e2e_secret"

func stripeEvent(t *testing.T, id, typ string, object map[string]any) (string, []string) {
	t.Helper()
	return stripeEventAt(t, id, typ, time.Now(), object)
}

// stripeEventAt is a signed Stripe event whose object changed at created.
func stripeEventAt(t *testing.T, id, typ string, created time.Time, object map[string]any) (string, []string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": stripe.APIVersion,
		"created": created.Unix(), "data": map[string]any{"object": object},
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
	s := stripeBilling(t)
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

	forged, _ := stripeEvent(t, "evt_forged", "customer.subscription.updated", map[string]any{})
	if r := s.do("POST", "/api/stripe/webhook", "", "application/json", forged, "Stripe-Signature", "t=1,v1=00"); r.Status != 400 {
		t.Errorf("Stripe event with a wrong signature = %d, want 400", r.Status)
	}
	if r := s.do("POST", "/api/stripe/webhook", "", "application/json", "{not json"); r.Status != 400 {
		t.Errorf("malformed Stripe payload = %d, want 400", r.Status)
	}
	customer := s.stripeCustomer(tn)
	// A Payment Link's checkout naming the tenant as client_reference_id is
	// acknowledged and ignored: AIAS did not open it.
	link := completedCheckout(tn, "cus_Buyer", "sub_Buyer")
	link["metadata"] = map[string]string{}
	body, sig := stripeEvent(t, "evt_link", "checkout.session.completed", link)
	s.mustStripe(body, sig)
	ctx, api := context.Background(), s.client(tn.Key)
	sub, err := api.GetSubscription(ctx)
	if err != nil || sub == nil || sub.StripeCustomerID != customer || sub.StripeSubscriptionID != nil {
		t.Errorf("billing after a forged checkout = %+v, %v; want its own customer %s and no subscription", sub, err, customer)
	}
	body, sig = stripeEvent(t, "evt_1", "checkout.session.completed", completedCheckout(tn, customer, "sub_1"))
	s.mustStripe(body, sig)
	body, sig = stripeEvent(t, "evt_2", "customer.subscription.updated", stripeSubscription("sub_1", customer, "active"))
	s.mustStripe(body, sig)
	if rec, err := s.client("").ReceiveStripeEvent(ctx, []byte(body), sig[1]); err != nil || !rec.Duplicate {
		t.Errorf("the same Stripe event again = %+v, %v; want received as a duplicate", rec, err)
	}
	if got := s.planOf(tn); got != "big" {
		t.Fatalf("plan after the subscription = %q, want big", got)
	}
	s.waitRun(tn.Key, held, "succeeded")
	if portal, err := api.CreatePortalSession(ctx); err != nil || portal.URL == "" {
		t.Errorf("CreatePortalSession = %+v, %v; want a URL", portal, err)
	}
}

// stripeBilling is a system whose plans file sells "big" for price_big,
// with billing pointed at a stripe-mock.
func stripeBilling(t *testing.T) *system {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plans.yaml")
	plans := strings.Replace(tinyPlans, "concurrency: 10, held_runs: -1}", "concurrency: 10, held_runs: -1}\n    stripe_price_ids: [price_big]", 1)
	if err := os.WriteFile(file, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, options{env: map[string]string{
		"AIAS_PLANS_FILE": file, "STRIPE_WEBHOOK_SECRET": stripeSecret, "STRIPE_API_KEY": "sk_test_123",
		"STRIPE_API_BASE": stripemock.Start(t), "STRIPE_SUCCESS_URL": "https://example.com/ok", "STRIPE_CANCEL_URL": "https://example.com/no",
		"STRIPE_PORTAL_RETURN_URL": "https://example.com/back",
	}})
}

// stripeCustomer opens a checkout for "big" as the tenant's owner and
// returns the Stripe customer AIAS created (in stripe-mock) and recorded.
func (s *system) stripeCustomer(tn tenant) string {
	s.t.Helper()
	ctx, api := context.Background(), s.client(tn.Key)
	co, err := api.CreateCheckoutSession(ctx, aias.CheckoutRequest{Plan: "big", Email: "payer@example.com"})
	if err != nil || co.URL == "" {
		s.t.Errorf("CreateCheckoutSession = %+v, %v; want a URL", co, err)
	}
	sub, err := api.GetSubscription(ctx)
	if err != nil || sub == nil || sub.StripeCustomerID == "" {
		s.t.Fatalf("GetSubscription after a checkout = %+v, %v; want the Stripe customer recorded", sub, err)
	}
	return sub.StripeCustomerID
}

// completedCheckout is the object of checkout.session.completed for a
// session AIAS opened for tn.
func completedCheckout(tn tenant, customer, sub string) map[string]any {
	return map[string]any{
		"id": "cs_" + sub, "object": "checkout.session", "mode": "subscription", "client_reference_id": tn.ID,
		"metadata": map[string]string{"tenant_id": tn.ID}, "customer": customer, "subscription": sub}
}

// stripeSubscription is a subscription to price_big, paid for 30 days more.
func stripeSubscription(id, customer, status string) map[string]any {
	return map[string]any{
		"id": id, "object": "subscription", "customer": customer, "status": status,
		"current_period_end": time.Now().Add(720 * time.Hour).Unix(), "metadata": map[string]string{},
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_" + id, "object": "subscription_item",
			"price": map[string]any{"id": "price_big", "object": "price"}}}}}
}

func (s *system) planOf(tn tenant) string {
	s.t.Helper()
	me, err := s.client(tn.Key).GetMe(context.Background())
	if err != nil {
		s.t.Fatalf("GetMe: %v", err)
	}
	return me.Plan
}

// Stripe's lifecycle: a cancel at the period's end keeps the plan until
// Stripe deletes the subscription; an immediate cancel deletes it at once,
// and the tenant drops to the default plan at once, even when an earlier
// update arrives after the deletion.
func TestStripeCancellationsFollowTheSubscriptionsLifecycle(t *testing.T) {
	t.Parallel()
	s := stripeBilling(t)
	t0 := time.Now().Add(-time.Hour)
	subscribed := func(name string) (tenant, string) {
		tn := s.signupOn(name, "tiny")
		customer := s.stripeCustomer(tn)
		sub := "sub_" + name
		body, sig := stripeEventAt(t, "evt_co_"+name, "checkout.session.completed", t0, completedCheckout(tn, customer, sub))
		s.mustStripe(body, sig)
		body, sig = stripeEventAt(t, "evt_cr_"+name, "customer.subscription.created", t0, stripeSubscription(sub, customer, "active"))
		s.mustStripe(body, sig)
		if got := s.planOf(tn); got != "big" {
			t.Fatalf("%s: plan after subscribing = %q, want big", name, got)
		}
		return tn, customer
	}
	// deleted is the subscription Stripe ended at, with its period paid until periodEnd.
	deleted := func(sub, customer string, at, periodEnd time.Time) map[string]any {
		o := stripeSubscription(sub, customer, "canceled")
		o["ended_at"], o["canceled_at"], o["current_period_end"] = at.Unix(), at.Unix(), periodEnd.Unix()
		return o
	}

	later, cl := subscribed("later")
	pending := stripeSubscription("sub_later", cl, "active")
	pending["cancel_at_period_end"] = true
	body, sig := stripeEventAt(t, "evt_pending", "customer.subscription.updated", t0.Add(time.Minute), pending)
	s.mustStripe(body, sig)
	if got := s.planOf(later); got != "big" {
		t.Errorf("plan while the cancel waits for the period's end = %q, want big", got)
	}
	body, sig = stripeEventAt(t, "evt_ended", "customer.subscription.deleted", t0.Add(2*time.Minute), deleted("sub_later", cl, t0.Add(2*time.Minute), t0.Add(2*time.Minute)))
	s.mustStripe(body, sig)
	if got := s.planOf(later); got != "tiny" {
		t.Errorf("plan once Stripe deleted the subscription = %q, want tiny", got)
	}

	now, cn := subscribed("now")
	body, sig = stripeEventAt(t, "evt_refund", "customer.subscription.deleted", t0.Add(2*time.Minute), deleted("sub_now", cn, t0.Add(2*time.Minute), time.Now().Add(30*24*time.Hour)))
	s.mustStripe(body, sig)
	if got := s.planOf(now); got != "tiny" {
		t.Errorf("plan after an immediate cancel with 30 days paid = %q, want tiny at once", got)
	}
	body, sig = stripeEventAt(t, "evt_late", "customer.subscription.updated", t0.Add(time.Minute), stripeSubscription("sub_now", cn, "active"))
	s.mustStripe(body, sig)
	if got := s.planOf(now); got != "tiny" {
		t.Errorf("plan after a late update = %q, want tiny", got)
	}
}

func (s *system) mustStripe(body string, sig []string) {
	s.t.Helper()
	if _, err := s.client("").ReceiveStripeEvent(context.Background(), []byte(body), sig[1]); err != nil {
		s.t.Fatalf("ReceiveStripeEvent: %v", err)
	}
}

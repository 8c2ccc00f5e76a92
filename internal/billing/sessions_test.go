package billing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/errs"
	"aias/internal/testutil/stripemock"
)

func TestCheckoutAndPortalAgainstStripeMock(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.svc.Cfg.APIBase = stripemock.Start(t)
	f.svc.Cfg.SuccessURL = "https://app.example.com/billing/done"
	f.svc.Cfg.CancelURL = "https://app.example.com/billing"
	f.svc.Cfg.PortalReturnURL = "https://app.example.com/billing"
	ctx := context.Background()
	id := f.tenant(t)

	if _, err := f.svc.Portal(ctx, id); errs.CodeOf(err) != "no_subscription" || !errs.Is(err, errs.Conflict) {
		t.Errorf("Portal without a customer = %v, want conflict no_subscription", err)
	}
	url, err := f.svc.Checkout(ctx, id, "owner@example.com", "pro")
	if err != nil || url == "" {
		t.Fatalf("Checkout = %q, %v; want a URL", url, err)
	}
	customer := f.sub(t, id).StripeCustomerID
	if customer == "" {
		t.Fatal("Checkout did not create and record the tenant's Stripe customer")
	}
	for _, name := range []string{"free", "platinum"} {
		if _, err := f.svc.Checkout(ctx, id, "owner@example.com", name); !errs.Is(err, errs.Invalid) {
			t.Errorf("Checkout(%s) = %v, want invalid", name, err)
		}
	}
	// Once Checkout completed, the customer is known: portal opens, a second checkout is refused.
	f.send(t, event("evt_co", "checkout.session.completed", t0, checkoutSession(id, customer, "sub_A")))
	url, err = f.svc.Portal(ctx, id)
	if err != nil || url == "" {
		t.Fatalf("Portal = %q, %v; want a URL", url, err)
	}
	// Checkout again before the subscription is live reuses the customer.
	if url, err := f.svc.Checkout(ctx, id, "", "business"); err != nil || url == "" {
		t.Errorf("Checkout with a known customer = %q, %v", url, err)
	}
	f.send(t, event("evt_cr", "customer.subscription.created", t0.Add(time.Second),
		subscription("sub_A", customer, "active", pricePro, nil)))
	if _, err := f.svc.Checkout(ctx, id, "", "business"); errs.CodeOf(err) != "already_subscribed" {
		t.Errorf("Checkout while subscribed = %v, want already_subscribed", err)
	}
}

func TestStripeUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.svc.Cfg.APIBase = "http://127.0.0.1:1" // nothing listens
	f.svc.Cfg.SuccessURL, f.svc.Cfg.CancelURL = "https://x.example/ok", "https://x.example/no"
	id := f.tenant(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := f.svc.Checkout(ctx, id, "owner@example.com", "pro"); !errs.Is(err, errs.Unavailable) {
		t.Errorf("Checkout with Stripe down = %v, want unavailable", err)
	}
}

// Payment Links and pricing tables let a buyer choose client_reference_id,
// and tenant ids are in webhook URLs: a completed checkout links only the
// tenant that opened it, with the customer AIAS recorded when it did.
func TestACheckoutLinksOnlyTheTenantThatOpenedIt(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.svc.Cfg.APIBase = stripemock.Start(t)
	f.svc.Cfg.SuccessURL, f.svc.Cfg.CancelURL = "https://app.example.com/ok", "https://app.example.com/no"
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(context.Background())
	victim, attacker, bystander := f.tenant(t), f.tenant(t), f.tenant(t)
	for _, id := range []uuid.UUID{victim, attacker} {
		if _, err := f.svc.Checkout(ctx, id, "owner@example.com", "pro"); err != nil {
			t.Fatalf("Checkout: %v", err)
		}
	}
	victims, attackers := f.sub(t, victim).StripeCustomerID, f.sub(t, attacker).StripeCustomerID
	if victims == attackers {
		t.Fatalf("stripe-mock gave both tenants customer %s", victims)
	}

	forged := func(claimed uuid.UUID, meta map[string]string, customer string) map[string]any {
		cs := checkoutSession(claimed, customer, "sub_"+customer)
		cs["metadata"] = meta
		return cs
	}
	forgeries := map[string]map[string]any{
		// A Payment Link: the buyer set client_reference_id, nothing else.
		"evt_link": forged(victim, map[string]string{}, "cus_Buyer"),
		// The attacker's own customer under the victim's id and metadata.
		"evt_own_customer": forged(victim, map[string]string{"tenant_id": victim.String()}, attackers),
		// The victim's metadata, a stranger's customer.
		"evt_stranger": forged(victim, map[string]string{"tenant_id": victim.String()}, "cus_Stranger"),
		// A tenant that never opened a checkout.
		"evt_never_opened": forged(bystander, map[string]string{"tenant_id": bystander.String()}, "cus_Stranger"),
	}
	for id, cs := range forgeries {
		body, header := sign(t, event(id, "checkout.session.completed", t0, cs), secret)
		if _, err := f.svc.HandleWebhook(ctx, body, header); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if e := f.stored(t, id); e.Applied || e.Error == nil {
			t.Errorf("forged checkout %s = %+v, want recorded, not applied, with the reason", id, e)
		}
		if !strings.Contains(logs.String(), `"event_id":"`+id+`"`) || !strings.Contains(logs.String(), "Stripe event refused") {
			t.Errorf("forged checkout %s was not logged: %s", id, logs.String())
		}
	}
	if s := f.sub(t, victim); s.StripeCustomerID != victims || s.StripeSubscriptionID != nil {
		t.Fatalf("the victim's billing after forged checkouts = %+v, want its own customer and no subscription", s)
	}
	if _, err := f.svc.Subscription(ctx, bystander); !errs.Is(err, errs.NotFound) {
		t.Errorf("a forged checkout gave the bystander a subscription: %v", err)
	}

	// The genuine completion of the victim's own session links.
	body, header := sign(t, event("evt_genuine", "checkout.session.completed", t0, checkoutSession(victim, victims, "sub_V")), secret)
	if _, err := f.svc.HandleWebhook(ctx, body, header); err != nil {
		t.Fatal(err)
	}
	if s := f.sub(t, victim); s.StripeSubscriptionID == nil || *s.StripeSubscriptionID != "sub_V" {
		t.Errorf("the genuine checkout did not link: %+v", s)
	}
	if e := f.stored(t, "evt_genuine"); !e.Applied || e.TenantID.UUID != victim {
		t.Errorf("genuine checkout = %+v, want applied for the victim", e)
	}
}

// Checkouts opened at once (a double click) each create a customer; every
// session must still carry the one customer recorded for the tenant, or
// its completion would not link.
func TestConcurrentCheckoutsUseTheRecordedCustomer(t *testing.T) {
	t.Parallel()
	f := setup(t)
	mock, err := url.Parse(stripemock.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sessionCustomers []string
	proxy := httputil.NewSingleHostReverseProxy(mock)
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/checkout/sessions" {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			sessionCustomers = append(sessionCustomers, form.Get("customer"))
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	defer recorder.Close()
	f.svc.Cfg.APIBase = recorder.URL
	f.svc.Cfg.SuccessURL, f.svc.Cfg.CancelURL = "https://app.example.com/ok", "https://app.example.com/no"
	id := f.tenant(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := f.svc.Checkout(context.Background(), id, "owner@example.com", "pro"); err != nil {
				t.Errorf("Checkout: %v", err)
			}
		})
	}
	wg.Wait()
	recorded := f.sub(t, id).StripeCustomerID
	if len(sessionCustomers) != 6 {
		t.Fatalf("%d sessions created, want 6", len(sessionCustomers))
	}
	for _, c := range sessionCustomers {
		if c != recorded {
			t.Errorf("sessions used customers %v, want each the recorded %s", sessionCustomers, recorded)
			break
		}
	}
}

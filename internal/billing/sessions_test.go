package billing_test

import (
	"context"
	"testing"
	"time"

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
	if sub := f.sub(t, id); sub.StripeCustomerID == "" {
		t.Error("Checkout did not create and record the tenant's Stripe customer")
	}
	for _, name := range []string{"free", "platinum"} {
		if _, err := f.svc.Checkout(ctx, id, "owner@example.com", name); !errs.Is(err, errs.Invalid) {
			t.Errorf("Checkout(%s) = %v, want invalid", name, err)
		}
	}
	// Once Checkout completed, the customer is known: portal opens, a second checkout is refused.
	f.send(t, event("evt_co", "checkout.session.completed", t0, checkoutSession(id, "cus_A", "sub_A")))
	url, err = f.svc.Portal(ctx, id)
	if err != nil || url == "" {
		t.Fatalf("Portal = %q, %v; want a URL", url, err)
	}
	// Checkout again before the subscription is live reuses the customer.
	if url, err := f.svc.Checkout(ctx, id, "", "business"); err != nil || url == "" {
		t.Errorf("Checkout with a known customer = %q, %v", url, err)
	}
	f.send(t, event("evt_cr", "customer.subscription.created", t0.Add(time.Second),
		subscription("sub_A", "cus_A", "active", pricePro, nil)))
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

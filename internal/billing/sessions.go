package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"

	"aias/internal/errs"
	"aias/internal/postgres"
)

// Checkout opens a Stripe Checkout session that subscribes the tenant to
// planName (its first Stripe price) and returns the URL to send the customer
// to. The tenant's Stripe customer is reused when known, otherwise email
// prefills the new one. A tenant with a live subscription is refused
// (Conflict "already_subscribed"): plan changes go through the portal.
func (s *Service) Checkout(ctx context.Context, tenantID uuid.UUID, email, planName string) (string, error) {
	p, ok := s.Plans.Get(planName)
	if !ok {
		return "", errs.Validation("checkout is not valid", errs.FieldError{Path: "plan", Message: "no such plan"})
	}
	if len(p.StripePriceIDs) == 0 {
		return "", errs.Validation("checkout is not valid", errs.FieldError{Path: "plan", Message: "this plan cannot be bought"})
	}
	sub, found, err := s.read(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if found && live(sub.Status) {
		return "", errs.E(errs.Conflict, "already_subscribed", "the tenant already has a subscription; change it in the billing portal")
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(p.StripePriceIDs[0]), Quantity: stripe.Int64(1)}},
		ClientReferenceID: stripe.String(tenantID.String()),
		SuccessURL:        stripe.String(s.Cfg.SuccessURL),
		CancelURL:         stripe.String(s.Cfg.CancelURL),
		Metadata:          map[string]string{metadataTenant: tenantID.String()},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{metadataTenant: tenantID.String()},
		},
	}
	customer := sub.StripeCustomerID
	if !found || customer == "" {
		if customer, err = s.newCustomer(ctx, tenantID, email); err != nil {
			return "", err
		}
	}
	params.Customer = stripe.String(customer)
	params.Context = ctx
	cs, err := s.client().CheckoutSessions.New(params)
	if err != nil {
		return "", stripeError(err, "creating the checkout session")
	}
	if cs.URL == "" {
		return "", errs.E(errs.Internal, "billing_error", "the checkout session has no URL")
	}
	return cs.URL, nil
}

// Portal opens a Stripe billing-portal session for the tenant's customer and
// returns its URL. A tenant without a Stripe customer is refused (Conflict
// "no_subscription").
func (s *Service) Portal(ctx context.Context, tenantID uuid.UUID) (string, error) {
	sub, found, err := s.read(ctx, tenantID)
	if err != nil {
		return "", err
	}
	if !found || sub.StripeCustomerID == "" {
		return "", errs.E(errs.Conflict, "no_subscription", "the tenant has no subscription")
	}
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(sub.StripeCustomerID),
		ReturnURL: stripe.String(s.Cfg.PortalReturnURL),
	}
	params.Context = ctx
	ps, err := s.client().BillingPortalSessions.New(params)
	if err != nil {
		return "", stripeError(err, "creating the billing portal session")
	}
	if ps.URL == "" {
		return "", errs.E(errs.Internal, "billing_error", "the billing portal session has no URL")
	}
	return ps.URL, nil
}

// newCustomer creates the tenant's Stripe customer on first use, tagged with
// metadata.tenant_id so its events find the tenant, and records it. It
// returns the customer recorded for the tenant, which the session must use:
// when concurrent checkouts each created one, the first recorded wins, so
// every session carries the customer a completed checkout is checked
// against (applyCheckout); the others are left unused in Stripe.
func (s *Service) newCustomer(ctx context.Context, tenantID uuid.UUID, email string) (string, error) {
	params := &stripe.CustomerParams{Metadata: map[string]string{metadataTenant: tenantID.String()}}
	if email != "" {
		params.Email = stripe.String(email)
	}
	params.Context = ctx
	c, err := s.client().Customers.New(params)
	if err != nil {
		return "", stripeError(err, "creating the customer")
	}
	var recorded string
	err = s.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		const insert = `INSERT INTO subscriptions (tenant_id, stripe_customer_id) VALUES ($1, $2)
		                ON CONFLICT (tenant_id) DO UPDATE SET stripe_customer_id = coalesce(nullif(subscriptions.stripe_customer_id, ''), EXCLUDED.stripe_customer_id)
		                RETURNING stripe_customer_id`
		return postgres.Classify(q.GetContext(ctx, &recorded, insert, tenantID, c.ID))
	})
	if err != nil {
		return "", fmt.Errorf("record customer: %w", err)
	}
	return recorded, nil
}

func (s *Service) read(ctx context.Context, tenantID uuid.UUID) (Subscription, bool, error) {
	var sub Subscription
	var found bool
	err := s.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		var err error
		sub, found, err = getSubscription(ctx, q, tenantID, false)
		return err
	})
	if err != nil {
		return Subscription{}, false, fmt.Errorf("read subscription: %w", err)
	}
	return sub, found, nil
}

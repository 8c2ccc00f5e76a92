package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// The event types applied; every other type is recorded only.
const (
	evCheckoutCompleted   = "checkout.session.completed"
	evSubscriptionCreated = "customer.subscription.created"
	evSubscriptionUpdated = "customer.subscription.updated"
	evSubscriptionDeleted = "customer.subscription.deleted"
	evInvoicePaymentFail  = "invoice.payment_failed"
	evInvoicePaid         = "invoice.paid"
)

// metadataTenant is the subscription metadata key Checkout sets.
const metadataTenant = "tenant_id"

// outcome is what applying one event did: applied, or not and why.
type outcome struct {
	applied bool
	reason  string // why not applied; "" when there is nothing to say
	refused bool   // not applied because it may be forged: logged as a warning
}

func skipped(format string, args ...any) outcome {
	return outcome{reason: fmt.Sprintf(format, args...)}
}

// refused is an event AIAS will not apply because it does not match what
// AIAS itself set up, as a forgery would not (a checkout naming a tenant
// that did not open it).
func refused(format string, args ...any) outcome {
	return outcome{reason: fmt.Sprintf(format, args...), refused: true}
}

// event is a verified event with its object decoded for its type.
type event struct {
	stripe.Event
	created  time.Time
	checkout *stripe.CheckoutSession
	sub      *stripe.Subscription
	invoice  *stripe.Invoice
	bad      string // the object could not be decoded: why
}

// HandleWebhook verifies, records and applies one Stripe webhook delivery.
// payload is the raw request body, sigHeader the Stripe-Signature header.
// It reports duplicate = true for an event id recorded before (answer it as
// success). A bad signature is errs.Unauthorized "invalid_signature"; any
// other error means nothing was recorded and Stripe should redeliver.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, sigHeader string) (bool, error) {
	if s.Cfg.WebhookSecret == "" {
		return false, errs.E(errs.Internal, "billing_not_configured", "Stripe webhooks are not configured")
	}
	se, err := webhook.ConstructEventWithOptions(payload, sigHeader, s.Cfg.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		if isSignatureError(err) {
			return false, errs.Wrap(err, errs.Unauthorized, "invalid_signature", "the Stripe signature is not valid")
		}
		// Correctly signed, but not an event.
		return false, errs.Wrap(err, errs.Invalid, "invalid_event", "the body is not a Stripe event")
	}
	if se.ID == "" || se.Type == "" {
		return false, errs.E(errs.Invalid, "invalid_event", "the Stripe event has no id or type")
	}
	ev := decode(se)

	tenantID, err := s.tenantOf(ctx, ev)
	if err != nil {
		return false, err
	}
	duplicate := false
	var out outcome
	run := func(q postgres.Querier) error {
		fresh, err := recordEvent(ctx, q, payload)
		if err != nil || !fresh {
			duplicate = !fresh
			return err
		}
		if out, err = s.outcome(ctx, q, tenantID, ev); err != nil {
			return err
		}
		// Filed under the transaction's tenant, if it exists (aias_stripe_event_done).
		return eventDone(ctx, q, ev.ID, out)
	}
	if tenantID != uuid.Nil {
		err = s.DB.InTenantTx(ctx, tenantID, run)
	} else {
		err = s.DB.InTx(ctx, run)
	}
	if err != nil {
		return false, err
	}
	if out.refused {
		logging.From(ctx).Warn().Str("event_id", ev.ID).Str("event_type", string(ev.Type)).
			Str("tenant_id", tenantID.String()).Str("reason", out.reason).Msg("Stripe event refused")
	}
	return duplicate, nil
}

// outcome applies a freshly recorded event, in its tenant's transaction
// when it has one, and says what came of it.
func (s *Service) outcome(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, ev *event) (outcome, error) {
	switch {
	case ev.bad != "":
		return skipped("%s", ev.bad), nil
	case !handled(string(ev.Type)):
		return outcome{}, nil
	case tenantID == uuid.Nil:
		return skipped("no tenant for this event"), nil
	}
	exists, err := lockTenant(ctx, q, tenantID)
	if err != nil || !exists {
		return skipped("tenant %s does not exist", tenantID), err
	}
	return s.apply(ctx, q, tenantID, ev)
}

// isSignatureError tells the webhook package's signature errors (sentinel
// values) apart from its failure to parse a correctly signed body.
func isSignatureError(err error) bool {
	for _, e := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func handled(t string) bool {
	switch t {
	case evCheckoutCompleted, evSubscriptionCreated, evSubscriptionUpdated, evSubscriptionDeleted,
		evInvoicePaymentFail, evInvoicePaid:
		return true
	}
	return false
}

// decode reads the event's object for the handled types.
func decode(se stripe.Event) *event {
	ev := &event{Event: se, created: time.Unix(se.Created, 0).UTC()}
	if !handled(string(se.Type)) {
		return ev
	}
	if se.Data == nil || len(se.Data.Raw) == 0 {
		ev.bad = "the event has no object"
		return ev
	}
	var target any
	switch string(se.Type) {
	case evCheckoutCompleted:
		ev.checkout = &stripe.CheckoutSession{}
		target = ev.checkout
	case evSubscriptionCreated, evSubscriptionUpdated, evSubscriptionDeleted:
		ev.sub = &stripe.Subscription{}
		target = ev.sub
	case evInvoicePaymentFail, evInvoicePaid:
		ev.invoice = &stripe.Invoice{}
		target = ev.invoice
	}
	if err := json.Unmarshal(se.Data.Raw, target); err != nil {
		ev.checkout, ev.sub, ev.invoice = nil, nil, nil
		ev.bad = "the event's object does not decode: " + err.Error()
	}
	return ev
}

// tenantOf finds the tenant an event concerns; uuid.Nil when none.
func (s *Service) tenantOf(ctx context.Context, ev *event) (uuid.UUID, error) {
	var customer string
	var metadata map[string]string
	switch {
	case ev.checkout != nil:
		id, err := uuid.Parse(ev.checkout.ClientReferenceID)
		if err != nil {
			return uuid.Nil, nil
		}
		return id, nil
	case ev.sub != nil:
		customer, metadata = customerID(ev.sub.Customer), ev.sub.Metadata
	case ev.invoice != nil:
		customer = customerID(ev.invoice.Customer)
		if ev.invoice.SubscriptionDetails != nil {
			metadata = ev.invoice.SubscriptionDetails.Metadata
		}
	default:
		return uuid.Nil, nil
	}
	if customer != "" {
		id, err := s.tenantForCustomer(ctx, customer)
		if err != nil || id != uuid.Nil {
			return id, err
		}
	}
	if id, err := uuid.Parse(metadata[metadataTenant]); err == nil {
		return id, nil
	}
	return uuid.Nil, nil
}

func (s *Service) tenantForCustomer(ctx context.Context, customer string) (uuid.UUID, error) {
	var id uuid.NullUUID
	err := s.DB.InTx(ctx, func(q postgres.Querier) error {
		return q.GetContext(ctx, &id, `SELECT aias_tenant_for_customer($1)`, customer)
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("tenant for customer: %w", postgres.Classify(err))
	}
	return id.UUID, nil
}

func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// recordEvent records the verified event; aias_stripe_event_record reads its
// id, type, API version and time from the payload itself.
func recordEvent(ctx context.Context, q postgres.Querier, payload []byte) (bool, error) {
	var fresh bool
	err := q.GetContext(ctx, &fresh, `SELECT aias_stripe_event_record($1::jsonb)`, string(payload))
	if err != nil {
		return false, fmt.Errorf("record stripe event: %w", postgres.Classify(err))
	}
	return fresh, nil
}

// eventDone marks the event this transaction recorded with its outcome.
func eventDone(ctx context.Context, q postgres.Querier, id string, out outcome) error {
	var reason *string
	if out.reason != "" {
		reason = &out.reason
	}
	if _, err := q.ExecContext(ctx, `SELECT aias_stripe_event_done($1, $2, $3)`, id, out.applied, reason); err != nil {
		return fmt.Errorf("mark stripe event: %w", postgres.Classify(err))
	}
	return nil
}

// lockTenant serialises the billing events of one tenant (a transaction
// advisory lock: the app role may not lock tenant rows) and reports whether
// the tenant exists.
func lockTenant(ctx context.Context, q postgres.Querier, tenantID uuid.UUID) (bool, error) {
	if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aias.billing:' || $1::text, 0))`, tenantID); err != nil {
		return false, fmt.Errorf("lock tenant: %w", postgres.Classify(err))
	}
	var n int
	if err := q.GetContext(ctx, &n, `SELECT count(*) FROM tenants WHERE id = $1`, tenantID); err != nil {
		return false, fmt.Errorf("read tenant: %w", postgres.Classify(err))
	}
	return n == 1, nil
}

// apply changes the tenant's subscription and plan for one event, inside the
// tenant's transaction with the tenant row locked.
func (s *Service) apply(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, ev *event) (outcome, error) {
	cur, found, err := getSubscription(ctx, q, tenantID, true)
	if err != nil {
		return outcome{}, err
	}
	switch {
	case ev.checkout != nil:
		return s.applyCheckout(ctx, q, tenantID, ev, cur, found)
	case ev.sub != nil:
		return s.applySubscription(ctx, q, tenantID, ev, cur, found)
	case ev.invoice != nil:
		return s.applyInvoice(ctx, q, ev, cur, found)
	}
	return outcome{}, nil
}

// applyCheckout links a completed Checkout's subscription to the tenant
// that opened it. client_reference_id alone proves nothing: Payment Links
// and pricing tables let a buyer set it to any tenant id (tenant ids are in
// webhook URLs). A session AIAS created also carries metadata.tenant_id and
// the customer AIAS recorded for the tenant when it created the session
// (Checkout), so both must match, or the event is refused.
func (s *Service) applyCheckout(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, ev *event, cur Subscription, found bool) (outcome, error) {
	cs := ev.checkout
	if cs.Mode != stripe.CheckoutSessionModeSubscription {
		return skipped("not a subscription checkout (mode %q)", cs.Mode), nil
	}
	customer := customerID(cs.Customer)
	if customer == "" {
		return skipped("the checkout session has no customer"), nil
	}
	if cs.Metadata[metadataTenant] != tenantID.String() {
		return refused("the checkout session's metadata.tenant_id (%q) is not its client_reference_id: not a session AIAS opened for this tenant",
			cs.Metadata[metadataTenant]), nil
	}
	if !found || cur.StripeCustomerID != customer {
		return refused("customer %s is not the one AIAS recorded for this tenant when it opened a checkout", customer), nil
	}
	var subID *string
	if cs.Subscription != nil && cs.Subscription.ID != "" {
		subID = &cs.Subscription.ID
	}
	// The subscription id is set by the subscription's own events once they
	// are applied; here it only fills a gap.
	_, err := q.ExecContext(ctx, `UPDATE subscriptions
		SET stripe_subscription_id = coalesce(stripe_subscription_id, $2), updated_at = now()
		WHERE tenant_id = $1`, tenantID, subID)
	if err != nil {
		return outcome{}, fmt.Errorf("link stripe subscription: %w", postgres.Classify(err))
	}
	return outcome{applied: true}, nil
}

// customerFree reports whether customer may be linked to tenantID: it is
// linked to no other tenant.
func customerFree(ctx context.Context, q postgres.Querier, customer string, tenantID uuid.UUID) (outcome, bool, error) {
	var owner uuid.NullUUID
	// The function sees every tenant's link, whatever tenant the transaction is set to.
	if err := q.GetContext(ctx, &owner, `SELECT aias_tenant_for_customer($1)`, customer); err != nil {
		return outcome{}, false, fmt.Errorf("tenant for customer: %w", postgres.Classify(err))
	}
	if owner.Valid && owner.UUID != tenantID {
		return skipped("customer %s is linked to another tenant", customer), false, nil
	}
	return outcome{}, true, nil
}

// Stripe subscription statuses, by what they do to the plan.
func live(status string) bool {
	switch status {
	case "active", "trialing", "past_due", "unpaid":
		return true
	}
	return false
}

func ended(status string) bool { return status == "canceled" || status == "incomplete_expired" }

func (s *Service) applySubscription(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, ev *event, cur Subscription, found bool) (outcome, error) {
	sub := ev.sub
	if sub.ID == "" {
		return skipped("the subscription has no id"), nil
	}
	customer := customerID(sub.Customer)
	if customer == "" {
		return skipped("the subscription has no customer"), nil
	}
	status := string(sub.Status)
	if string(ev.Type) == evSubscriptionDeleted {
		status = "canceled"
	}
	same := found && cur.StripeSubscriptionID != nil && *cur.StripeSubscriptionID == sub.ID
	if found && cur.LastEventCreated != nil {
		last := *cur.LastEventCreated
		switch {
		case ev.created.Before(last):
			return skipped("stale: older than the last applied event (%s)", last.Format(time.RFC3339)), nil
		case ev.created.Equal(last) && same && string(ev.Type) == evSubscriptionCreated:
			return skipped("stale: the subscription's creation after a later state of the same second"), nil
		}
	}
	if same && ended(cur.Status) && !ended(status) {
		return skipped("the subscription has already ended"), nil
	}
	terminal := ended(status) || status == "paused"
	if found && !same && cur.StripeSubscriptionID != nil && terminal && live(cur.Status) {
		return skipped("subscription %s is not the tenant's current one (%s)", sub.ID, *cur.StripeSubscriptionID), nil
	}
	if out, ok, err := customerFree(ctx, q, customer, tenantID); err != nil || !ok {
		return out, err
	}

	planName, err := s.currentPlan(ctx, q, tenantID)
	if err != nil {
		return outcome{}, err
	}
	var periodEnd *time.Time
	if sub.CurrentPeriodEnd > 0 {
		t := time.Unix(sub.CurrentPeriodEnd, 0).UTC()
		periodEnd = &t
	}
	price := firstPrice(sub)
	grace := cur.GraceUntil
	if !found {
		grace = nil
	}
	switch status {
	case "active", "trialing":
		name, priceID, ok := s.planForSubscription(sub)
		if !ok {
			return skipped("price %q belongs to no plan", price), nil
		}
		planName, price, grace = name, priceID, nil
	case "past_due", "unpaid":
		if grace == nil {
			g := s.now().Add(s.grace())
			grace = &g
		}
	case "canceled", "incomplete_expired", "paused":
		// Stripe ends a subscription (customer.subscription.deleted, status
		// canceled) when it is over: at the period's end for a
		// cancel-at-period-end, which stays active with its plan until
		// then, or at once for an immediate cancel (a refund, fraud). Either
		// way it is over now.
		planName, grace = s.Plans.Default().Name, nil
	case "incomplete":
		// awaiting the first payment: nothing changes yet
	default:
		return skipped("unknown subscription status %q", status), nil
	}

	_, err = q.ExecContext(ctx, `INSERT INTO subscriptions (tenant_id, stripe_customer_id, stripe_subscription_id,
			price_id, status, current_period_end, grace_until, last_event_created, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
		ON CONFLICT (tenant_id) DO UPDATE SET
			stripe_customer_id = EXCLUDED.stripe_customer_id,
			stripe_subscription_id = EXCLUDED.stripe_subscription_id,
			price_id = EXCLUDED.price_id, status = EXCLUDED.status,
			current_period_end = EXCLUDED.current_period_end, grace_until = EXCLUDED.grace_until,
			last_event_created = EXCLUDED.last_event_created, updated_at = now()`,
		tenantID, customer, sub.ID, price, status, periodEnd, grace, ev.created)
	if err != nil {
		return outcome{}, fmt.Errorf("save subscription: %w", postgres.Classify(err))
	}
	if err := setPlan(ctx, q, tenantID, planName); err != nil {
		return outcome{}, err
	}
	return outcome{applied: true}, nil
}

// planForSubscription finds the plan of the first subscription item whose
// price belongs to one.
func (s *Service) planForSubscription(sub *stripe.Subscription) (name, priceID string, ok bool) {
	if sub.Items == nil {
		return "", "", false
	}
	for _, it := range sub.Items.Data {
		if it == nil || it.Price == nil {
			continue
		}
		if p, ok := s.Plans.ForPrice(it.Price.ID); ok {
			return p.Name, it.Price.ID, true
		}
	}
	return "", "", false
}

func firstPrice(sub *stripe.Subscription) string {
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			if it != nil && it.Price != nil {
				return it.Price.ID
			}
		}
	}
	return ""
}

func (s *Service) applyInvoice(ctx context.Context, q postgres.Querier, ev *event, cur Subscription, found bool) (outcome, error) {
	inv := ev.invoice
	if inv.Subscription == nil || inv.Subscription.ID == "" {
		return skipped("not a subscription invoice"), nil
	}
	if !found {
		return skipped("the tenant has no subscription"), nil
	}
	if cur.LastEventCreated != nil && ev.created.Before(*cur.LastEventCreated) {
		return skipped("stale: older than the last applied event (%s)", cur.LastEventCreated.Format(time.RFC3339)), nil
	}
	if cur.StripeSubscriptionID != nil && *cur.StripeSubscriptionID != inv.Subscription.ID {
		return skipped("invoice of subscription %s, not the tenant's current one", inv.Subscription.ID), nil
	}
	grace := cur.GraceUntil
	switch string(ev.Type) {
	case evInvoicePaymentFail:
		if grace == nil && !ended(cur.Status) {
			g := s.now().Add(s.grace())
			grace = &g
		}
	case evInvoicePaid:
		grace = nil
	}
	_, err := q.ExecContext(ctx, `UPDATE subscriptions
		SET stripe_subscription_id = $2, grace_until = $3, last_event_created = $4, updated_at = now()
		WHERE tenant_id = $1`, cur.TenantID, inv.Subscription.ID, grace, ev.created)
	if err != nil {
		return outcome{}, fmt.Errorf("save subscription: %w", postgres.Classify(err))
	}
	return outcome{applied: true}, nil
}

func (s *Service) currentPlan(ctx context.Context, q postgres.Querier, tenantID uuid.UUID) (string, error) {
	var name string
	if err := q.GetContext(ctx, &name, `SELECT plan FROM tenants WHERE id = $1`, tenantID); err != nil {
		return "", fmt.Errorf("read plan: %w", postgres.Classify(err))
	}
	return name, nil
}

// setPlan changes the plan of the transaction's tenant (aias_set_plan: the
// app role has no UPDATE on tenants).
func setPlan(ctx context.Context, q postgres.Querier, tenantID uuid.UUID, name string) error {
	if _, err := q.ExecContext(ctx, `SELECT aias_set_plan($1, $2)`, tenantID, name); err != nil {
		return fmt.Errorf("set plan: %w", postgres.Classify(err))
	}
	return nil
}

package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"aias/internal/billing"
	"aias/internal/errs"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
)

const (
	secret        = "whsec_test_secret"
	pricePro      = "price_1ProMonthly"
	priceProYear  = "price_1ProYearly"
	priceBusiness = "price_1BusinessMonthly"
)

const catalogue = `
default: free
plans:
  - name: free
    limits: {workflows: 3, webhook_endpoints: 2, runs_per_month: 1000, steps_per_workflow: 10,
             max_payload_bytes: 262144, artifact_bytes_per_month: 52428800, retention_days: 7,
             concurrency: 2, held_runs: 100}
  - name: pro
    limits: {workflows: 50, webhook_endpoints: 20, runs_per_month: 100000, steps_per_workflow: 50,
             max_payload_bytes: 5242880, artifact_bytes_per_month: 5368709120, retention_days: 30,
             concurrency: 10, held_runs: 10000}
    stripe_price_ids: [` + pricePro + `, ` + priceProYear + `]
  - name: business
    limits: {workflows: -1, webhook_endpoints: -1, runs_per_month: -1, steps_per_workflow: 100,
             max_payload_bytes: 26214400, artifact_bytes_per_month: 107374182400, retention_days: 90,
             concurrency: 50, held_runs: 100000}
    stripe_price_ids: [` + priceBusiness + `]
`

// clock is the injected time of a Service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *billing.Service
	db    *pgtest.DB
	owner *postgres.DB // reads stripe_events, which the app role cannot
	clock *clock
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	plans, err := plan.Load([]byte(catalogue))
	if err != nil {
		t.Fatalf("catalogue: %v", err)
	}
	owner, err := postgres.Open(context.Background(), db.OwnerURL, 2)
	if err != nil {
		t.Fatalf("owner connection: %v", err)
	}
	t.Cleanup(func() { _ = owner.Close() })
	// The grace sweep reads Postgres's clock, so the service's starts at the real time.
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	svc := &billing.Service{
		DB:    db.DB,
		Plans: plans,
		Cfg:   billing.Config{WebhookSecret: secret, APIKey: "sk_test_123", Grace: 72 * time.Hour},
		Now:   c.Now,
	}
	return &fixture{svc: svc, db: db, owner: owner, clock: c}
}

func (f *fixture) tenant(t *testing.T) uuid.UUID {
	t.Helper()
	s, err := tenant.Create(context.Background(), f.db.DB, "owner-"+uuid.NewString()[:8]+"@example.com", "Acme")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return s.TenantID
}

// event builds a Stripe event of type typ around object.
func event(id, typ string, created time.Time, object map[string]any) map[string]any {
	return map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": stripe.APIVersion,
		"created": created.Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	}
}

func subscription(id, customer, status, price string, meta map[string]string) map[string]any {
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{
		"id": id, "object": "subscription", "customer": customer, "status": status,
		"current_period_end": time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Unix(),
		"metadata":           meta,
		"items": map[string]any{"object": "list", "data": []any{
			map[string]any{"id": "si_" + id, "object": "subscription_item",
				"price": map[string]any{"id": price, "object": "price"}},
		}},
	}
}

// checkoutSession is a completed Checkout session as AIAS opens them: the
// tenant as client_reference_id and as metadata.tenant_id.
func checkoutSession(tenantID uuid.UUID, customer, sub string) map[string]any {
	return map[string]any{
		"id": "cs_" + sub, "object": "checkout.session", "mode": "subscription",
		"client_reference_id": tenantID.String(), "customer": customer, "subscription": sub,
		"metadata": map[string]string{"tenant_id": tenantID.String()},
	}
}

// opened records customer as the tenant's, as Service.Checkout does when it
// creates the tenant's first session (tests that open one for real use
// stripe-mock, sessions_test.go).
func (f *fixture) opened(t *testing.T, id uuid.UUID, customer string) {
	t.Helper()
	err := f.db.InTenantTx(context.Background(), id, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `INSERT INTO subscriptions (tenant_id, stripe_customer_id) VALUES ($1, $2)`, id, customer)
		return err
	})
	if err != nil {
		t.Fatalf("record the customer of a checkout: %v", err)
	}
}

// elapse lets d pass: the service's clock moves on, and every grace end the
// database holds moves d closer to Postgres's own clock, which the grace
// sweep reads.
func (f *fixture) elapse(t *testing.T, d time.Duration) {
	t.Helper()
	f.clock.Add(d)
	_, err := f.owner.ExecContext(context.Background(),
		`UPDATE subscriptions SET grace_until = grace_until - $1::interval WHERE grace_until IS NOT NULL`,
		fmt.Sprintf("%d milliseconds", d.Milliseconds()))
	if err != nil {
		t.Fatalf("elapse %s: %v", d, err)
	}
}

func invoice(id, customer, sub string) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "subscription": sub}
}

func sign(t *testing.T, ev map[string]any, key string) ([]byte, string) {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: key, Timestamp: time.Now()})
	return body, sp.Header
}

// send delivers ev, signed with the right secret, and fails on an error.
func (f *fixture) send(t *testing.T, ev map[string]any) (duplicate bool) {
	t.Helper()
	body, header := sign(t, ev, secret)
	dup, err := f.svc.HandleWebhook(context.Background(), body, header)
	if err != nil {
		t.Fatalf("HandleWebhook(%s %s): %v", ev["type"], ev["id"], err)
	}
	return dup
}

func (f *fixture) plan(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var name string
	err := f.db.InTenantTx(context.Background(), id, func(q postgres.Querier) error {
		tn, err := tenant.Get(context.Background(), q, id)
		name = tn.Plan
		return err
	})
	if err != nil {
		t.Fatalf("read tenant: %v", err)
	}
	return name
}

func (f *fixture) sub(t *testing.T, id uuid.UUID) billing.Subscription {
	t.Helper()
	s, err := f.svc.Subscription(context.Background(), id)
	if err != nil {
		t.Fatalf("read subscription: %v", err)
	}
	return s
}

type storedEvent struct {
	ID         string        `db:"id"`
	Type       string        `db:"type"`
	APIVersion string        `db:"api_version"`
	TenantID   uuid.NullUUID `db:"tenant_id"`
	Applied    bool          `db:"applied"`
	Error      *string       `db:"error"`
}

func (f *fixture) stored(t *testing.T, id string) storedEvent {
	t.Helper()
	var e storedEvent
	if err := f.owner.GetContext(context.Background(), &e,
		`SELECT id, type, api_version, tenant_id, applied, error FROM stripe_events WHERE id = $1`, id); err != nil {
		t.Fatalf("stored event %s: %v", id, err)
	}
	return e
}

func (f *fixture) storedCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.owner.GetContext(context.Background(), &n, `SELECT count(*) FROM stripe_events`); err != nil {
		t.Fatal(err)
	}
	return n
}

// subscribe opens a checkout for the tenant with customer, completes it and
// makes its subscription active on price.
func (f *fixture) subscribe(t *testing.T, id uuid.UUID, customer, sub, price string, at time.Time) {
	t.Helper()
	f.opened(t, id, customer)
	f.send(t, event("evt_co_"+sub, "checkout.session.completed", at, checkoutSession(id, customer, sub)))
	f.send(t, event("evt_cr_"+sub, "customer.subscription.created", at, subscription(sub, customer, "active", price, nil)))
}

var t0 = time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)

func TestBadSignatureIsRefusedAndNothingRecorded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ev := event("evt_bad", "customer.subscription.updated", t0, subscription("sub_1", "cus_1", "active", pricePro, nil))
	for name, header := range map[string]string{
		"wrong secret": func() string { _, h := sign(t, ev, "whsec_other"); return h }(),
		"no header":    "",
		"garbage":      "t=1,v1=zz",
	} {
		body, _ := sign(t, ev, secret)
		_, err := f.svc.HandleWebhook(context.Background(), body, header)
		if !errs.Is(err, errs.Unauthorized) || errs.CodeOf(err) != "invalid_signature" {
			t.Errorf("%s: err = %v (%s), want unauthorized invalid_signature", name, err, errs.CodeOf(err))
		}
	}
	// A correctly signed but altered body.
	body, header := sign(t, ev, secret)
	body = []byte(strings.Replace(string(body), pricePro, priceBusiness, 1))
	if _, err := f.svc.HandleWebhook(context.Background(), body, header); errs.CodeOf(err) != "invalid_signature" {
		t.Errorf("altered body: err = %v, want invalid_signature", err)
	}
	if n := f.storedCount(t); n != 0 {
		t.Errorf("%d events recorded, want 0", n)
	}
}

func TestCheckoutThenActiveSubscriptionPutsTheTenantOnThePricesPlan(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.opened(t, id, "cus_A")
	f.send(t, event("evt_co", "checkout.session.completed", t0, checkoutSession(id, "cus_A", "sub_A")))
	s := f.sub(t, id)
	if s.StripeCustomerID != "cus_A" || s.StripeSubscriptionID == nil || *s.StripeSubscriptionID != "sub_A" {
		t.Fatalf("after checkout: %+v", s)
	}
	if got := f.plan(t, id); got != "free" {
		t.Errorf("plan after checkout alone = %q, want free", got)
	}
	f.send(t, event("evt_cr", "customer.subscription.created", t0.Add(time.Second),
		subscription("sub_A", "cus_A", "active", priceProYear, nil)))
	if got := f.plan(t, id); got != "pro" {
		t.Errorf("plan = %q, want pro", got)
	}
	s = f.sub(t, id)
	if s.Status != "active" || s.PriceID != priceProYear || s.CurrentPeriodEnd == nil || s.GraceUntil != nil {
		t.Errorf("subscription = %+v", s)
	}
	if e := f.stored(t, "evt_cr"); !e.Applied || e.TenantID.UUID != id || e.Error != nil {
		t.Errorf("stored = %+v, want applied for the tenant", e)
	}
}

func TestARepeatedEventIsAppliedOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", pricePro, t0)
	at := t0.Add(time.Hour)
	failed := event("evt_fail", "invoice.payment_failed", at, invoice("in_1", "cus_A", "sub_A"))
	if dup := f.send(t, failed); dup {
		t.Fatal("first delivery reported as a duplicate")
	}
	if f.sub(t, id).GraceUntil == nil {
		t.Fatal("payment failure started no grace")
	}
	f.send(t, event("evt_paid", "invoice.paid", at, invoice("in_1", "cus_A", "sub_A")))
	if dup := f.send(t, failed); !dup {
		t.Error("redelivery not reported as a duplicate")
	}
	if g := f.sub(t, id).GraceUntil; g != nil {
		t.Errorf("redelivered payment failure applied again: grace_until = %v", g)
	}
	var n int
	if err := f.owner.GetContext(context.Background(), &n, `SELECT count(*) FROM stripe_events WHERE id = 'evt_fail'`); err != nil || n != 1 {
		t.Errorf("evt_fail recorded %d times (%v), want once", n, err)
	}
}

func TestEventsApplyInTheOrderOfTheSubscriptionsStateNotOfArrival(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.opened(t, id, "cus_A")
	f.send(t, event("evt_co", "checkout.session.completed", t0, checkoutSession(id, "cus_A", "sub_A")))
	// The update (upgrade to business) arrives before the creation (pro).
	f.send(t, event("evt_upd", "customer.subscription.updated", t0.Add(10*time.Second),
		subscription("sub_A", "cus_A", "active", priceBusiness, nil)))
	f.send(t, event("evt_cr", "customer.subscription.created", t0.Add(5*time.Second),
		subscription("sub_A", "cus_A", "active", pricePro, nil)))
	if got := f.plan(t, id); got != "business" {
		t.Errorf("plan = %q, want business (the newest event's)", got)
	}
	if s := f.sub(t, id); s.PriceID != priceBusiness || !s.LastEventCreated.Equal(t0.Add(10*time.Second)) {
		t.Errorf("subscription = %+v", s)
	}
	e := f.stored(t, "evt_cr")
	if e.Applied || e.Error == nil || !strings.HasPrefix(*e.Error, "stale") {
		t.Errorf("late creation: %+v, want recorded, not applied, stale", e)
	}
	// Same for the deletion: an update older than it changes nothing.
	f.send(t, event("evt_del", "customer.subscription.deleted", t0.Add(30*time.Second),
		subscription("sub_A", "cus_A", "canceled", priceBusiness, nil)))
	f.send(t, event("evt_upd2", "customer.subscription.updated", t0.Add(20*time.Second),
		subscription("sub_A", "cus_A", "active", priceBusiness, nil)))
	if s := f.sub(t, id); s.Status != "canceled" {
		t.Errorf("subscription = %s after a deletion and an older update, want canceled", s.Status)
	}
	// An update of the same second as the deletion does not revive it either.
	f.send(t, event("evt_upd3", "customer.subscription.updated", t0.Add(30*time.Second),
		subscription("sub_A", "cus_A", "active", priceBusiness, nil)))
	if s := f.sub(t, id); s.Status != "canceled" {
		t.Errorf("subscription = %s after an update of the deletion's second, want canceled", s.Status)
	}
}

// ended is a subscription as customer.subscription.deleted carries it:
// canceled, ended_at set, whatever its paid period.
func ended(id, customer, price string, at time.Time) map[string]any {
	sub := subscription(id, customer, "canceled", price, nil)
	sub["ended_at"], sub["canceled_at"] = at.Unix(), at.Unix()
	sub["current_period_end"] = time.Now().Add(20 * 24 * time.Hour).Unix() // paid for weeks more
	return sub
}

// An immediate cancel (a refund, fraud): Stripe deletes the subscription
// at once, and the tenant drops to the default plan at once, though its
// paid period had weeks to run.
func TestADeletedSubscriptionDropsTheTenantToTheDefaultPlanAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", priceBusiness, t0)
	f.send(t, event("evt_del", "customer.subscription.deleted", t0.Add(time.Minute), ended("sub_A", "cus_A", priceBusiness, t0.Add(time.Minute))))
	s := f.sub(t, id)
	if got := f.plan(t, id); got != "free" || s.Status != "canceled" || s.GraceUntil != nil {
		t.Fatalf("after deletion: plan %q, subscription %+v; want free at once, canceled, no grace", got, s)
	}
	// A canceled status in an update is the same end.
	id2 := f.tenant(t)
	f.subscribe(t, id2, "cus_B", "sub_B", pricePro, t0)
	f.send(t, event("evt_upd", "customer.subscription.updated", t0.Add(time.Minute), ended("sub_B", "cus_B", pricePro, t0.Add(time.Minute))))
	if got := f.plan(t, id2); got != "free" {
		t.Errorf("plan after an update to canceled = %q, want free at once", got)
	}
}

// A cancel at the period's end: the subscription stays active, with
// cancel_at_period_end, and keeps its plan until Stripe deletes it.
func TestCancelAtPeriodEndKeepsThePlanUntilStripeDeletesTheSubscription(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", priceBusiness, t0)
	pending := subscription("sub_A", "cus_A", "active", priceBusiness, nil)
	pending["cancel_at_period_end"], pending["canceled_at"] = true, t0.Add(time.Minute).Unix()
	f.send(t, event("evt_upd", "customer.subscription.updated", t0.Add(time.Minute), pending))
	if got, s := f.plan(t, id), f.sub(t, id); got != "business" || s.Status != "active" || s.GraceUntil != nil {
		t.Fatalf("after cancel_at_period_end: plan %q, subscription %+v; want business, active, no grace", got, s)
	}
	f.elapse(t, 40*24*time.Hour)
	if n, err := f.svc.ExpireGrace(context.Background()); err != nil || n != 0 {
		t.Fatalf("ExpireGrace = %d, %v; want 0: the plan ends when Stripe says so", n, err)
	}
	if got := f.plan(t, id); got != "business" {
		t.Fatalf("plan before Stripe deletes the subscription = %q, want business", got)
	}
	atEnd := ended("sub_A", "cus_A", priceBusiness, t0.Add(30*24*time.Hour))
	atEnd["current_period_end"] = atEnd["ended_at"] // the paid period is over
	f.send(t, event("evt_del", "customer.subscription.deleted", t0.Add(30*24*time.Hour), atEnd))
	if got := f.plan(t, id); got != "free" {
		t.Errorf("plan once Stripe deleted the subscription = %q, want free", got)
	}
}

// An immediate cancel whose deletion arrives before an earlier update (and
// one of the same second): the out-of-order rules keep the tenant on the
// default plan.
func TestAnImmediateCancelBeforeALateUpdateStaysCanceled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", pricePro, t0)
	f.send(t, event("evt_del", "customer.subscription.deleted", t0.Add(30*time.Second), ended("sub_A", "cus_A", pricePro, t0.Add(30*time.Second))))
	f.send(t, event("evt_late", "customer.subscription.updated", t0.Add(20*time.Second), subscription("sub_A", "cus_A", "active", priceBusiness, nil)))
	f.send(t, event("evt_same", "customer.subscription.updated", t0.Add(30*time.Second), subscription("sub_A", "cus_A", "active", priceBusiness, nil)))
	if got, s := f.plan(t, id), f.sub(t, id); got != "free" || s.Status != "canceled" {
		t.Errorf("after a deletion and late updates: plan %q, status %s; want free, canceled", got, s.Status)
	}
	for _, ev := range []string{"evt_late", "evt_same"} {
		if e := f.stored(t, ev); e.Applied || e.Error == nil {
			t.Errorf("%s = %+v, want recorded, not applied, with the reason", ev, e)
		}
	}
}

func TestPastDueKeepsThePlanUntilGraceExpires(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	other := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", pricePro, t0)
	f.subscribe(t, other, "cus_B", "sub_B", priceBusiness, t0)
	f.send(t, event("evt_pd", "customer.subscription.updated", t0.Add(time.Hour),
		subscription("sub_A", "cus_A", "past_due", pricePro, nil)))
	if got := f.plan(t, id); got != "pro" {
		t.Errorf("plan while past due = %q, want pro", got)
	}
	s := f.sub(t, id)
	want := f.clock.Now().Add(72 * time.Hour)
	if s.Status != "past_due" || s.GraceUntil == nil || !s.GraceUntil.Equal(want) {
		t.Fatalf("subscription = %+v, want past_due with grace until %v", s, want)
	}
	// A second past-due update does not extend the grace.
	f.clock.Add(time.Hour) // the service's clock only: the grace has not run out
	f.send(t, event("evt_pd2", "customer.subscription.updated", t0.Add(2*time.Hour),
		subscription("sub_A", "cus_A", "past_due", pricePro, nil)))
	if g := f.sub(t, id).GraceUntil; g == nil || !g.Equal(want) {
		t.Errorf("grace_until = %v after a second past-due event, want %v", g, want)
	}

	n, err := f.svc.ExpireGrace(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("ExpireGrace within grace = %d, %v; want 0", n, err)
	}
	f.elapse(t, 72*time.Hour)
	n, err = f.svc.ExpireGrace(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("ExpireGrace after grace = %d, %v; want 1", n, err)
	}
	if got := f.plan(t, id); got != "free" {
		t.Errorf("plan after grace = %q, want free", got)
	}
	if g := f.sub(t, id).GraceUntil; g != nil {
		t.Errorf("grace_until = %v after expiry, want none", g)
	}
	if got := f.plan(t, other); got != "business" {
		t.Errorf("a paying tenant moved to %q", got)
	}
	if n, err := f.svc.ExpireGrace(context.Background()); err != nil || n != 0 {
		t.Errorf("second ExpireGrace = %d, %v; want 0", n, err)
	}
	// Paying again restores the plan.
	f.send(t, event("evt_ok", "customer.subscription.updated", t0.Add(100*time.Hour),
		subscription("sub_A", "cus_A", "active", pricePro, nil)))
	if got := f.plan(t, id); got != "pro" {
		t.Errorf("plan after paying = %q, want pro", got)
	}
}

func TestInvoicePaidEndsTheGrace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", pricePro, t0)
	f.send(t, event("evt_fail", "invoice.payment_failed", t0.Add(time.Hour), invoice("in_1", "cus_A", "sub_A")))
	g := f.sub(t, id).GraceUntil
	if g == nil || !g.Equal(f.clock.Now().Add(72*time.Hour)) {
		t.Fatalf("grace_until = %v after a failed payment", g)
	}
	f.send(t, event("evt_paid", "invoice.paid", t0.Add(2*time.Hour), invoice("in_1", "cus_A", "sub_A")))
	if g := f.sub(t, id).GraceUntil; g != nil {
		t.Errorf("grace_until = %v after invoice.paid, want none", g)
	}
	f.elapse(t, 100*time.Hour)
	if n, err := f.svc.ExpireGrace(context.Background()); err != nil || n != 0 {
		t.Errorf("ExpireGrace = %d, %v; want 0", n, err)
	}
	if got := f.plan(t, id); got != "pro" {
		t.Errorf("plan = %q, want pro", got)
	}
}

func TestUnknownTypesAreRecordedNotApplied(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.send(t, event("evt_x", "customer.created", t0, map[string]any{"id": "cus_X", "object": "customer"}))
	e := f.stored(t, "evt_x")
	if e.Applied || e.Type != "customer.created" || e.TenantID.Valid {
		t.Errorf("stored = %+v, want recorded, not applied, no tenant", e)
	}
	if dup := f.send(t, event("evt_x", "customer.created", t0, map[string]any{"id": "cus_X"})); !dup {
		t.Error("redelivery of an unknown type not a duplicate")
	}
}

func TestAnEventOfAnotherAPIVersionIsVerifiedStoredAndApplied(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.opened(t, id, "cus_A")
	f.send(t, event("evt_co", "checkout.session.completed", t0, checkoutSession(id, "cus_A", "sub_A")))
	ev := event("evt_old", "customer.subscription.created", t0.Add(time.Second),
		subscription("sub_A", "cus_A", "active", pricePro, nil))
	ev["api_version"] = "2020-08-27"
	f.send(t, ev)
	e := f.stored(t, "evt_old")
	if e.APIVersion != "2020-08-27" || !e.Applied {
		t.Errorf("stored = %+v, want api_version 2020-08-27, applied", e)
	}
	if got := f.plan(t, id); got != "pro" {
		t.Errorf("plan = %q, want pro", got)
	}
	// Still refused with a bad signature.
	body, _ := sign(t, ev, secret)
	_, header := sign(t, ev, "whsec_other")
	if _, err := f.svc.HandleWebhook(context.Background(), body, header); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("bad signature on another version: %v", err)
	}
}

func TestSubscriptionBeforeCheckoutFindsTheTenantByMetadata(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.send(t, event("evt_cr", "customer.subscription.created", t0,
		subscription("sub_A", "cus_A", "active", priceBusiness, map[string]string{"tenant_id": id.String()})))
	if got := f.plan(t, id); got != "business" {
		t.Errorf("plan = %q, want business", got)
	}
	f.send(t, event("evt_co", "checkout.session.completed", t0, checkoutSession(id, "cus_A", "sub_A")))
	if s := f.sub(t, id); s.StripeCustomerID != "cus_A" || *s.StripeSubscriptionID != "sub_A" || s.Status != "active" {
		t.Errorf("subscription = %+v", s)
	}
	if got := f.plan(t, id); got != "business" {
		t.Errorf("plan after checkout = %q, want business", got)
	}
}

func TestEventsThatCannotBeAppliedAreRecordedWithTheReason(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.tenant(t), f.tenant(t)
	f.subscribe(t, a, "cus_A", "sub_A", pricePro, t0)

	// No tenant: unknown customer, no metadata.
	f.send(t, event("evt_nobody", "customer.subscription.updated", t0, subscription("sub_Z", "cus_Z", "active", pricePro, nil)))
	if e := f.stored(t, "evt_nobody"); e.Applied || e.TenantID.Valid || e.Error == nil {
		t.Errorf("unknown customer: %+v", e)
	}
	// A price of no plan.
	f.send(t, event("evt_price", "customer.subscription.updated", t0.Add(time.Minute),
		subscription("sub_A", "cus_A", "active", "price_1Unknown", nil)))
	if e := f.stored(t, "evt_price"); e.Applied || e.Error == nil || !strings.Contains(*e.Error, "price_1Unknown") {
		t.Errorf("unknown price: %+v", e)
	}
	if got := f.plan(t, a); got != "pro" {
		t.Errorf("plan = %q after an unknown price, want pro unchanged", got)
	}
	// Tenant b's checkout naming tenant a's customer.
	f.send(t, event("evt_steal", "checkout.session.completed", t0, checkoutSession(b, "cus_A", "sub_B")))
	if e := f.stored(t, "evt_steal"); e.Applied || e.Error == nil || !strings.Contains(*e.Error, "not the one AIAS recorded") {
		t.Errorf("customer of another tenant: %+v", e)
	}
	if _, err := f.svc.Subscription(context.Background(), b); !errs.Is(err, errs.NotFound) {
		t.Errorf("tenant b has a subscription: %v", err)
	}
	// A checkout naming no existing tenant.
	f.send(t, event("evt_ghost", "checkout.session.completed", t0, checkoutSession(uuid.New(), "cus_G", "sub_G")))
	if e := f.stored(t, "evt_ghost"); e.Applied || e.TenantID.Valid {
		t.Errorf("checkout of a missing tenant: %+v", e)
	}
	// The end of a subscription that is not the tenant's current one.
	f.send(t, event("evt_oldsub", "customer.subscription.deleted", t0.Add(2*time.Minute),
		subscription("sub_OLD", "cus_A", "canceled", pricePro, nil)))
	if e := f.stored(t, "evt_oldsub"); e.Applied {
		t.Errorf("deletion of another subscription applied: %+v", e)
	}
	if got := f.plan(t, a); got != "pro" {
		t.Errorf("plan = %q, want pro", got)
	}
}

func TestSetPlanRefusesAnotherTenant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.tenant(t), f.tenant(t)
	err := f.db.InTenantTx(context.Background(), a, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `SELECT aias_set_plan($1, 'business')`, b)
		return err
	})
	if err == nil {
		t.Fatal("aias_set_plan changed another tenant's plan")
	}
	err = f.db.InTx(context.Background(), func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `SELECT aias_set_plan($1, 'business')`, b)
		return err
	})
	if err == nil {
		t.Fatal("aias_set_plan worked without a tenant set")
	}
	if got := f.plan(t, b); got != "free" {
		t.Errorf("plan = %q, want free", got)
	}
	// The app role cannot touch stripe_events directly.
	err = f.db.InTx(context.Background(), func(q postgres.Querier) error {
		var n int
		return q.GetContext(context.Background(), &n, `SELECT count(*) FROM stripe_events`)
	})
	if err == nil {
		t.Error("the app role reads stripe_events")
	}
}

func TestConcurrentDeliveriesApplyOnceEach(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", pricePro, t0)
	events := []map[string]any{
		event("evt_u1", "customer.subscription.updated", t0.Add(1*time.Second), subscription("sub_A", "cus_A", "active", priceBusiness, nil)),
		event("evt_u2", "customer.subscription.updated", t0.Add(2*time.Second), subscription("sub_A", "cus_A", "past_due", priceBusiness, nil)),
		event("evt_u3", "customer.subscription.updated", t0.Add(3*time.Second), subscription("sub_A", "cus_A", "active", pricePro, nil)),
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := map[string]int{}
	for range 4 {
		for _, ev := range events {
			body, header := sign(t, ev, secret)
			wg.Go(func() {
				dup, err := f.svc.HandleWebhook(context.Background(), body, header)
				if err != nil {
					t.Errorf("HandleWebhook(%s): %v", ev["id"], err)
					return
				}
				if !dup {
					mu.Lock()
					fresh[ev["id"].(string)]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	for _, ev := range events {
		if n := fresh[ev["id"].(string)]; n != 1 {
			t.Errorf("%s applied %d times, want once", ev["id"], n)
		}
	}
	// Whatever the arrival order, the newest state wins.
	if got := f.plan(t, id); got != "pro" {
		t.Errorf("plan = %q, want pro", got)
	}
	if s := f.sub(t, id); s.Status != "active" || !s.LastEventCreated.Equal(t0.Add(3*time.Second)) {
		t.Errorf("subscription = %+v", s)
	}
}

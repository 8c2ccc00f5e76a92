package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
)

// The billing SECURITY DEFINER functions run as the schema owner; these
// tests call them as the application role with hostile arguments.

// asApp runs statement as the application role, in a transaction scoped to
// tenant (uuid.Nil: none), and returns its error.
func (f *fixture) asApp(t *testing.T, tenant uuid.UUID, statement string, args ...any) error {
	t.Helper()
	run := func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), statement, args...)
		return err
	}
	if tenant == uuid.Nil {
		return f.db.InTx(context.Background(), run)
	}
	return f.db.InTenantTx(context.Background(), tenant, run)
}

func TestGraceExpiryTakesNeitherTheTimeNorThePlanFromItsCaller(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	f.subscribe(t, id, "cus_A", "sub_A", pricePro, t0)
	f.send(t, event("evt_pd", "customer.subscription.updated", t0.Add(time.Hour), subscription("sub_A", "cus_A", "past_due", pricePro, nil)))
	grace := f.sub(t, id).GraceUntil
	if grace == nil {
		t.Fatal("past due started no grace")
	}

	// A caller's "now" ten years ahead and a plan of its choosing.
	if err := f.asApp(t, uuid.Nil, `SELECT aias_billing_expire_grace(now() + interval '10 years', 'business')`); err == nil {
		t.Error("aias_billing_expire_grace took the time and the plan from its caller")
	}
	// The service's own clock, ten years ahead, does not reach the database either.
	f.clock.Add(10 * 365 * 24 * time.Hour)
	if n, err := f.svc.ExpireGrace(context.Background()); err != nil || n != 0 {
		t.Errorf("ExpireGrace with the service's clock ten years ahead = %d, %v; want 0", n, err)
	}
	if got, g := f.plan(t, id), f.sub(t, id).GraceUntil; got != "pro" || g == nil || !g.Equal(*grace) {
		t.Fatalf("after hostile calls: plan %q, grace %v; want pro until %v", got, g, grace)
	}

	// When the grace does run out, the tenant gets the plan a new tenant gets.
	f.elapse(t, 73*time.Hour)
	if n, err := f.svc.ExpireGrace(context.Background()); err != nil || n != 1 {
		t.Fatalf("ExpireGrace after the grace = %d, %v; want 1", n, err)
	}
	if got := f.plan(t, id); got != "free" {
		t.Errorf("plan after the grace = %q, want free", got)
	}
}

func TestAHandledStripeEventCannotBeRetagged(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.tenant(t), f.tenant(t)
	f.subscribe(t, a, "cus_A", "sub_A", pricePro, t0)
	before := f.stored(t, "evt_cr_sub_A")
	if !before.Applied || before.TenantID.UUID != a {
		t.Fatalf("stored = %+v, want applied for tenant a", before)
	}
	for name, call := range map[string]func() error{
		"the old form, naming another tenant": func() error {
			return f.asApp(t, b, `SELECT aias_stripe_event_done('evt_cr_sub_A', $1::uuid, false, 'hostile')`, b)
		},
		"from tenant b's transaction": func() error {
			return f.asApp(t, b, `SELECT aias_stripe_event_done('evt_cr_sub_A', false, 'hostile')`)
		},
		"from tenant a's transaction": func() error {
			return f.asApp(t, a, `SELECT aias_stripe_event_done('evt_cr_sub_A', false, 'hostile')`)
		},
		"from no tenant's transaction": func() error {
			return f.asApp(t, uuid.Nil, `SELECT aias_stripe_event_done('evt_cr_sub_A', false, NULL)`)
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: re-tagging a handled event succeeded", name)
		}
	}
	if after := f.stored(t, "evt_cr_sub_A"); !after.Applied || after.TenantID != before.TenantID || after.Error != nil {
		t.Errorf("stored event after re-tagging attempts = %+v, want %+v", after, before)
	}
}

func TestARecordedStripeEventIsWhatItsPayloadSays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// The old form stored an id, a type and a time beside the payload.
	if err := f.asApp(t, uuid.Nil, `SELECT aias_stripe_event_record('evt_real', 'invoice.paid', '', now(), '{"id":"evt_other"}'::jsonb)`); err == nil {
		t.Error("aias_stripe_event_record took the event's id apart from its payload")
	}
	for _, payload := range []string{`{"type":"invoice.paid","created":1}`, `{"id":"evt_1","created":1}`,
		`{"id":"evt_1","type":"invoice.paid","created":"soon"}`, `[{"id":"evt_1"}]`} {
		if err := f.asApp(t, uuid.Nil, `SELECT aias_stripe_event_record($1::jsonb)`, payload); err == nil {
			t.Errorf("aias_stripe_event_record(%s) recorded a payload that is not an event", payload)
		}
	}
	if n := f.storedCount(t); n != 0 {
		t.Errorf("%d events recorded, want 0", n)
	}
	// A payload that is an event is recorded by its own fields.
	body := `{"id":"evt_2","type":"invoice.paid","api_version":"2023-10-16","created":1767225600}`
	if err := f.asApp(t, uuid.Nil, `SELECT aias_stripe_event_record($1::jsonb)`, body); err != nil {
		t.Fatal(err)
	}
	var created time.Time
	if err := f.owner.GetContext(context.Background(), &created, `SELECT created FROM stripe_events WHERE id = 'evt_2'`); err != nil {
		t.Fatal(err)
	}
	if e := f.stored(t, "evt_2"); e.Type != "invoice.paid" || e.APIVersion != "2023-10-16" || !created.Equal(time.Unix(1767225600, 0)) {
		t.Errorf("stored = %+v created %v, want the payload's type, version and time", e, created)
	}
}

func TestSetPlanRefusesWhatIsNotAPlanName(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.tenant(t)
	for _, name := range []string{"", "Business", "business; DROP TABLE tenants", "a-very-long-plan-name-of-more-than-32-chars"} {
		if err := f.asApp(t, id, `SELECT aias_set_plan($1, $2)`, id, name); err == nil {
			t.Errorf("aias_set_plan(%q) succeeded", name)
		}
	}
	if got := f.plan(t, id); got != "free" {
		t.Errorf("plan = %q, want free", got)
	}
}

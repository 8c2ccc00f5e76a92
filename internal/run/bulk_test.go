package run_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/page"
	"aias/internal/plan"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/testutil/redistest"
)

func intp(n int) *int { return &n }

// fieldPaths returns the paths of the field errors err carries.
func fieldPaths(err error) []string {
	e, ok := errs.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Path)
	}
	return out
}

func TestBulkFilterDefaults(t *testing.T) {
	t.Parallel()
	f, err := run.ParseBulk(run.BulkRedrive, run.BulkRequest{})
	if err != nil {
		t.Fatalf("ParseBulk(redrive, {}) error = %v, want nil", err)
	}
	want := run.BulkFilter{Action: run.BulkRedrive, Statuses: []run.Status{run.Failed, run.Dead}, Limit: run.BulkDefaultLimit}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("ParseBulk(redrive, {}) mismatch (-want +got):\n%s", diff)
	}
}

func TestBulkFilterParsesEveryField(t *testing.T) {
	t.Parallel()
	wf := uuid.New()
	cur := page.Cursor{CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), ID: uuid.New()}
	req := run.BulkRequest{Status: []string{"dead", "succeeded", "dead"}, WorkflowID: wf.String(),
		CreatedAfter: "2025-03-01T00:00:00Z", CreatedBefore: "2025-03-02T00:00:00.5+01:00",
		Version: "current", Limit: intp(run.BulkMaxLimit), Cursor: cur.Encode()}
	f, err := run.ParseBulk(run.BulkReplay, req)
	if err != nil {
		t.Fatalf("ParseBulk(replay, %+v) error = %v, want nil", req, err)
	}
	after := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	before := time.Date(2025, 3, 1, 23, 0, 0, 5e8, time.UTC)
	want := run.BulkFilter{Action: run.BulkReplay, Statuses: []run.Status{run.Dead, run.Succeeded}, WorkflowID: wf,
		CreatedAfter: &after, CreatedBefore: &before, Current: true, Limit: run.BulkMaxLimit, After: &cur}
	if diff := cmp.Diff(want, f, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("ParseBulk(replay, %+v) mismatch (-want +got):\n%s", req, diff)
	}
}

func TestBulkFilterValidationNamesEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		action run.BulkAction
		req    run.BulkRequest
		want   []string
	}{
		{"replay needs a status", run.BulkReplay, run.BulkRequest{}, []string{"status"}},
		{"replay only of finished runs", run.BulkReplay, run.BulkRequest{Status: []string{"failed", "queued", "held"}}, []string{"status[1]", "status[2]"}},
		{"redrive only failed or dead", run.BulkRedrive, run.BulkRequest{Status: []string{"dead", "succeeded"}}, []string{"status[1]"}},
		{"unknown status", run.BulkRedrive, run.BulkRequest{Status: []string{"DEAD"}}, []string{"status[0]"}},
		{"workflow id", run.BulkRedrive, run.BulkRequest{WorkflowID: "wf-1"}, []string{"workflow_id"}},
		{"times", run.BulkRedrive, run.BulkRequest{CreatedAfter: "yesterday", CreatedBefore: "2025-03-01"}, []string{"created_after", "created_before"}},
		{"after later than before", run.BulkRedrive, run.BulkRequest{CreatedAfter: "2025-03-02T00:00:00Z", CreatedBefore: "2025-03-01T00:00:00Z"}, []string{"created_after"}},
		{"an empty range", run.BulkRedrive, run.BulkRequest{CreatedAfter: "2025-03-01T00:00:00Z", CreatedBefore: "2025-03-01T01:00:00+01:00"}, []string{"created_after"}},
		{"version", run.BulkRedrive, run.BulkRequest{Version: "latest"}, []string{"version"}},
		{"limit zero", run.BulkRedrive, run.BulkRequest{Limit: intp(0)}, []string{"limit"}},
		{"limit too big", run.BulkRedrive, run.BulkRequest{Limit: intp(run.BulkMaxLimit + 1)}, []string{"limit"}},
		{"cursor", run.BulkRedrive, run.BulkRequest{Cursor: "not-a-cursor"}, []string{"cursor"}},
		{"everything at once", run.BulkReplay, run.BulkRequest{WorkflowID: "x", CreatedAfter: "x", Version: "x", Limit: intp(-1)},
			[]string{"status", "workflow_id", "created_after", "version", "limit"}},
	}
	for _, tt := range tests {
		_, err := run.ParseBulk(tt.action, tt.req)
		if errs.KindOf(err) != errs.Invalid || errs.CodeOf(err) != "validation_failed" {
			t.Errorf("%s: ParseBulk(%s, %+v) = %v, want validation_failed", tt.name, tt.action, tt.req, err)
			continue
		}
		if diff := cmp.Diff(tt.want, fieldPaths(err)); diff != "" {
			t.Errorf("%s: ParseBulk(%s, %+v) field paths mismatch (-want +got):\n%s", tt.name, tt.action, tt.req, diff)
		}
	}
}

// recorder is the queue of the bulk tests: it records what it was given.
type recorder struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (r *recorder) Revive(_ context.Context, _, id uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
	return nil
}

func (r *recorder) EnqueueRun(ctx context.Context, tenantID, id uuid.UUID, _ int) error {
	return r.Revive(ctx, tenantID, id)
}

func (r *recorder) got() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// manyRuns copies run id n times with a status, all in one transaction (so
// they share created_at: only the id orders them).
func (b bundle) manyRuns(t *testing.T, id uuid.UUID, n int, status run.Status) {
	t.Helper()
	b.exec(t, `INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, trigger_kind, status, max_attempts, body, attempt, error, finished_at)
	           SELECT gen_random_uuid(), tenant_id, workflow_id, workflow_version, trigger_kind, $2, max_attempts, body, 1, 'boom', now()
	             FROM runs, generate_series(1, $3) WHERE id = $1`, id, string(status), n)
}

func (b bundle) countStatus(t *testing.T, status run.Status) int {
	t.Helper()
	var n int
	err := b.db.InTenantTx(context.Background(), b.tenant, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n, `SELECT count(*) FROM runs WHERE status = $1`, string(status))
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBulkRedriveWalksBatchesOnceEachAndContinuesAtItsCursor(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	seed := b.newRun(t, "name: w\nsteps:\n  - { name: t, type: transform, with: { output: '1' } }\n")
	b.manyRuns(t, seed, 1100, run.Dead)
	b.manyRuns(t, seed, 7, run.Canceled)
	f, err := run.ParseBulk(run.BulkRedrive, run.BulkRequest{Limit: intp(1050)})
	if err != nil {
		t.Fatal(err)
	}
	q := &recorder{}
	res, err := run.RedriveMatching(ctx, b.db.DB, q, b.tenant, f)
	if err != nil || res.Count != 1050 || !res.More {
		t.Fatalf("RedriveMatching(limit 1050 of 1100) = %+v, %v; want count 1050, more", res, err)
	}
	ids := q.got()
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if len(slices.Compact(ids)) != 1050 {
		t.Errorf("revived %d distinct runs, want 1050 (each once)", len(slices.Compact(ids)))
	}
	f.After = &res.Next
	res, err = run.RedriveMatching(ctx, b.db.DB, q, b.tenant, f)
	if err != nil || res.Count != 50 || res.More {
		t.Fatalf("RedriveMatching(after the cursor) = %+v, %v; want count 50, no more", res, err)
	}
	if got := b.countStatus(t, run.Queued); got != 1100+1 {
		t.Errorf("queued runs = %d, want 1101 (the seed and every dead run)", got)
	}
	if got := b.countStatus(t, run.Canceled); got != 7 {
		t.Errorf("canceled runs = %d, want 7 (not re-drivable)", got)
	}
	r, _ := b.get(t, ids[0])
	if r.Attempt != 0 || r.Error != nil || r.FinishedAt != nil {
		t.Errorf("re-driven run = attempt %d, error %v, finished %v; want a fresh budget", r.Attempt, r.Error, r.FinishedAt)
	}
}

func TestBulkReplayHoldsOverQuotaAndStopsWhenTheBufferIsFull(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	seed := b.newRun(t, "name: w\nsteps:\n  - { name: t, type: transform, with: { output: '1' } }\n")
	b.manyRuns(t, seed, 10, run.Succeeded) // copies, never counted against the quota
	// The seed is counted: 4 runs more fit the quota, and 2 more the buffer.
	plans, err := plan.Load([]byte(`
default: five
plans:
  - name: five
    limits: {workflows: 5, webhook_endpoints: 5, runs_per_month: 5, steps_per_workflow: 10, max_payload_bytes: 65536,
             artifact_bytes_per_month: 1048576, retention_days: 1, concurrency: 2, held_runs: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	admit := entitlement.NewAdmitter(plans, redistest.Client(t, redistest.New(t)))
	f, err := run.ParseBulk(run.BulkReplay, run.BulkRequest{Status: []string{"succeeded"}})
	if err != nil {
		t.Fatal(err)
	}
	q := &recorder{}
	res, err := run.ReplayMatching(ctx, b.db.DB, q, b.tenant, f, "req-1", admit)
	if err != nil || res.Count != 6 || res.Held != 2 || !res.More {
		t.Fatalf("ReplayMatching(10 runs, room for 4 + 2 held) = %+v, %v; want count 6, held 2, more", res, err)
	}
	if got := len(q.got()); got != 4 {
		t.Errorf("enqueued %d replays, want 4 (held runs wait)", got)
	}
	if got := b.countStatus(t, run.Held); got != 2 {
		t.Errorf("held runs = %d, want 2", got)
	}
	var linked int
	err = b.db.InTenantTx(ctx, b.tenant, func(tx postgres.Querier) error {
		return tx.GetContext(ctx, &linked, `SELECT count(*) FROM runs r JOIN runs o ON o.id = r.replay_of
		                                     WHERE r.trigger_kind = 'replay' AND o.status = 'succeeded'`)
	})
	if err != nil || linked != 6 {
		t.Errorf("replays linked to a succeeded original = %d (%v), want 6", linked, err)
	}
	_, err = run.ReplayMatching(ctx, b.db.DB, q, b.tenant, f, "req-2", admit)
	if errs.CodeOf(err) != "quota_exhausted" {
		t.Errorf("ReplayMatching with no quota left = %v, want quota_exhausted", err)
	}
	if got := b.countStatus(t, run.Queued) + b.countStatus(t, run.Held); got != 1+6 {
		t.Errorf("queued and held runs after a refused call = %d, want 7 (the seed and the 6 replays)", got)
	}
}

// failingAdmitter admits after runs, then fails as a Postgres gone away
// would.
type failingAdmitter struct{ n, after int }

func (a *failingAdmitter) Admit(_ context.Context, _ postgres.Getter, _ entitlement.Request, insert entitlement.Insert) (entitlement.Admission, error) {
	if a.n++; a.n > a.after {
		return entitlement.Admission{}, errs.E(errs.Unavailable, "storage_unavailable", "Postgres is unavailable")
	}
	_, err := insert(false)
	return entitlement.Admission{}, err
}

// A bulk replay that fails after committing a batch answers what it
// replayed, with the cursor after it: an error would have the caller (or
// its retry) replay those runs again.
func TestABulkReplayCutShortAfterABatchAnswersWhatItReplayed(t *testing.T) {
	t.Parallel()
	_, b := setup(t)
	ctx := context.Background()
	seed := b.newRun(t, "name: w\nsteps:\n  - { name: t, type: transform, with: { output: '1' } }\n")
	b.manyRuns(t, seed, 600, run.Succeeded)
	f, err := run.ParseBulk(run.BulkReplay, run.BulkRequest{Status: []string{"succeeded"}, Limit: intp(1000)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run.ReplayMatching(ctx, b.db.DB, &recorder{}, b.tenant, f, "req-1", &failingAdmitter{after: 550})
	if err != nil || res.Count != 500 || !res.More || res.Next.ID == uuid.Nil {
		t.Fatalf("ReplayMatching failing in its second batch = %+v, %v; want the first batch's 500, more, and a cursor", res, err)
	}
	_, err = run.ReplayMatching(ctx, b.db.DB, &recorder{}, b.tenant, f, "req-2", &failingAdmitter{after: 0})
	if !errs.Is(err, errs.Unavailable) {
		t.Errorf("ReplayMatching failing at once = %v, want the error", err)
	}
}

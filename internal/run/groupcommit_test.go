package run_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/tenant"
	"aias/internal/workflow"
)

// batchRig is a tenant with a workflow and an endpoint, and a GroupCommit
// of one flusher whose first statement can be held on a row lock of the
// workflow (the run's foreign key waits for it), so that the runs sent
// meanwhile queue up and are committed together.
type batchRig struct {
	bundle
	g        *run.GroupCommit
	workflow uuid.UUID
	endpoint uuid.UUID
	commits  *commits
}

// commits records what the GroupCommit observed of its transactions.
type commits struct {
	mu  sync.Mutex
	log []string
}

func (c *commits) observe(runs int, split bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf("%d split=%v", runs, split))
}

func (c *commits) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.log)
}

func newBatchRig(t *testing.T, max int) batchRig {
	t.Helper()
	_, b := setup(t)
	r := batchRig{bundle: b, g: run.NewGroupCommit(b.db.DB, 1, max), commits: &commits{}}
	r.g.Observe = r.commits.observe
	r.workflow, r.endpoint = r.workflowWithEndpoint(t, b.tenant)
	return r
}

func (r batchRig) workflowWithEndpoint(t *testing.T, tenantID uuid.UUID) (wf, ep uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	src := fmt.Sprintf("name: batch-%s\nsteps:\n  - { name: a, type: transform, with: { output: \"1\" } }\n", uuid.NewString()[:8])
	def, err := workflow.Decode([]byte(src), "application/yaml")
	if err != nil {
		t.Fatal(err)
	}
	ep = uuid.New()
	err = r.db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		w, err := workflow.Create(ctx, q, tenantID, def)
		if err != nil {
			return err
		}
		wf = w.ID
		_, err = q.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, tenant_id, workflow_id, name, token_hash, token_prefix)
		                              VALUES ($1, $2, $3, 'batch', $4, 'tok')`, ep, tenantID, wf, []byte(ep.String()))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return wf, ep
}

func (r batchRig) delivery(tenantID, wf, ep uuid.UUID, id string) run.New {
	return run.New{TenantID: tenantID, WorkflowID: wf, WorkflowVersion: 1, EndpointID: &ep, TriggerKind: run.TriggerWebhook,
		DeliveryID: id, MaxAttempts: 3, Body: []byte(`{"id":"` + id + `"}`), ContentType: "application/json",
		Headers: map[string]string{"x-id": id}, ReceivedAt: time.Now()}
}

type inserted struct {
	id        uuid.UUID
	duplicate bool
	err       error
}

// holdWorkflow locks the workflow row until the returned func is called.
func (r batchRig) holdWorkflow(t *testing.T, tenantID, wf uuid.UUID) (release func()) {
	t.Helper()
	locked, done := make(chan struct{}), make(chan struct{})
	go func() {
		_ = r.db.InTenantTx(context.Background(), tenantID, func(q postgres.Querier) error {
			if _, err := q.ExecContext(context.Background(), `SELECT 1 FROM workflows WHERE id = $1 FOR UPDATE`, wf); err != nil {
				t.Error(err)
			}
			close(locked)
			<-done
			return nil
		})
	}()
	<-locked
	return sync.OnceFunc(func() { close(done) })
}

// insertAll sends the runs at once and waits for their answers; before it
// returns the answers, it waits until want runs are queued behind a
// flusher (0: none) and calls release.
func (r batchRig) insertAll(t *testing.T, runs []run.New, want int, release func()) []inserted {
	t.Helper()
	out := make([]inserted, len(runs))
	var wg sync.WaitGroup
	for i, n := range runs {
		wg.Go(func() {
			out[i].id, out[i].duplicate, out[i].err = r.g.Insert(context.Background(), n)
		})
	}
	r.waitFor(t, func() bool { return r.g.Waiting() == want })
	release()
	wg.Wait()
	return out
}

func (r batchRig) waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}

// blockFlusher sends one run that the single flusher takes and then waits
// on the workflow's lock with; the answer arrives on the channel.
func (r batchRig) blockFlusher(t *testing.T, tenantID, wf, ep uuid.UUID) <-chan inserted {
	t.Helper()
	first := make(chan inserted, 1)
	go func() {
		var x inserted
		x.id, x.duplicate, x.err = r.g.Insert(context.Background(), r.delivery(tenantID, wf, ep, "first"))
		first <- x
	}()
	r.waitForALockWait(t)
	return first
}

// waitForALockWait waits until a backend of the test's database waits on a
// lock (a flusher's statement held by holdWorkflow).
func (r batchRig) waitForALockWait(t *testing.T) {
	t.Helper()
	r.waitFor(t, func() bool {
		var waiting int
		err := r.db.GetContext(context.Background(), &waiting,
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		return err == nil && waiting > 0
	})
}

// transactions counts the distinct transactions that wrote the runs.
func (r batchRig) transactions(t *testing.T, tenantID uuid.UUID, ids ...uuid.UUID) int {
	t.Helper()
	var n int
	err := r.db.InTenantTx(context.Background(), tenantID, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n, `SELECT count(DISTINCT xmin::text) FROM runs WHERE id = ANY($1)`, uuidArray(ids))
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func uuidArray(ids []uuid.UUID) string {
	s := "{"
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id.String()
	}
	return s + "}"
}

func TestRunsArrivingWhileTheFlusherIsBusyAreCommittedInOneTransaction(t *testing.T) {
	r := newBatchRig(t, 16)
	release := r.holdWorkflow(t, r.tenant, r.workflow)
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	var runs []run.New
	for i := range 5 {
		runs = append(runs, r.delivery(r.tenant, r.workflow, r.endpoint, fmt.Sprint("d", i)))
	}
	out := r.insertAll(t, runs, 5, release)
	if x := <-first; x.err != nil || x.duplicate {
		t.Fatalf("first run: %+v", x)
	}
	var ids []uuid.UUID
	for i, x := range out {
		if x.err != nil || x.duplicate || x.id == uuid.Nil {
			t.Fatalf("run %d: %+v", i, x)
		}
		ids = append(ids, x.id)
	}
	if n := r.transactions(t, r.tenant, ids...); n != 1 {
		t.Fatalf("the 5 queued runs were written by %d transactions, want 1", n)
	}
	if got := r.commits.String(); got != "[1 split=false 5 split=false]" {
		t.Fatalf("observed commits %s, want the first alone, then the 5", got)
	}
	var stored []struct {
		ID         uuid.UUID `db:"id"`
		DeliveryID string    `db:"delivery_id"`
		Body       []byte    `db:"body"`
		Headers    string    `db:"headers"`
		Status     string    `db:"status"`
	}
	err := r.db.InTenantTx(context.Background(), r.tenant, func(q postgres.Querier) error {
		return q.SelectContext(context.Background(), &stored, `SELECT id, delivery_id, body, headers::text, status FROM runs WHERE id = ANY($1)`, uuidArray(ids))
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uuid.UUID]int{}
	for i, x := range out {
		byID[x.id] = i
	}
	for _, s := range stored {
		i, ok := byID[s.ID]
		if !ok {
			t.Fatalf("stored run %s was not answered", s.ID)
		}
		want := fmt.Sprint("d", i)
		if s.DeliveryID != want || string(s.Body) != `{"id":"`+want+`"}` || s.Headers != `{"x-id": "`+want+`"}` || s.Status != "queued" {
			t.Fatalf("run %d answered with the row of another delivery or stored wrong: %+v", i, s)
		}
	}
	if len(stored) != 5 {
		t.Fatalf("stored %d runs, want 5", len(stored))
	}
}

func TestADeliveryRepeatedWithinOneBatchIsAnsweredWithTheFirstRun(t *testing.T) {
	r := newBatchRig(t, 16)
	release := r.holdWorkflow(t, r.tenant, r.workflow)
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	d := r.delivery(r.tenant, r.workflow, r.endpoint, "same")
	out := r.insertAll(t, []run.New{d, d, d}, 3, release)
	<-first
	created := 0
	for _, x := range out {
		if x.err != nil || x.id != out[0].id {
			t.Fatalf("answers %+v: want one run for one delivery id", out)
		}
		if !x.duplicate {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d of 3 repeats were answered as new runs, want 1", created)
	}
}

func TestARunThatCannotBeStoredFailsOnlyItsOwnDelivery(t *testing.T) {
	r := newBatchRig(t, 16)
	release := r.holdWorkflow(t, r.tenant, r.workflow)
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	good1 := r.delivery(r.tenant, r.workflow, r.endpoint, "good1")
	bad := r.delivery(r.tenant, uuid.New(), r.endpoint, "bad") // no such workflow
	good2 := r.delivery(r.tenant, r.workflow, r.endpoint, "good2")
	out := r.insertAll(t, []run.New{good1, bad, good2}, 3, release)
	<-first
	if out[1].err == nil {
		t.Fatalf("a run of a missing workflow was stored: %+v", out[1])
	}
	for _, i := range []int{0, 2} {
		if out[i].err != nil || out[i].duplicate {
			t.Fatalf("run %d failed with the bad one: %+v", i, out[i])
		}
	}
	if n := r.transactions(t, r.tenant, out[0].id, out[2].id); n != 2 {
		t.Fatalf("after the batch failed, the good runs were written by %d transactions, want each its own", n)
	}
	if got := r.commits.String(); got != "[1 split=false 3 split=true]" {
		t.Fatalf("observed commits %s, want the 3 split", got)
	}
}

func TestOneTenantsStalledCommitDoesNotHoldAnothersDeliveries(t *testing.T) {
	r := newBatchRig(t, 16)
	other, err := tenant.Create(context.Background(), r.db.DB, "other@example.com", "other")
	if err != nil {
		t.Fatal(err)
	}
	owf, oep := r.workflowWithEndpoint(t, other.TenantID)
	release := r.holdWorkflow(t, r.tenant, r.workflow)
	defer release()
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	// The other tenant's runs are committed while the first tenant's
	// flusher waits; they arrive together, so they may share a transaction.
	theirs := r.insertAll(t, []run.New{r.delivery(other.TenantID, owf, oep, "b1"), r.delivery(other.TenantID, owf, oep, "b2")}, 0, func() {})
	for i, x := range theirs {
		if x.err != nil || x.duplicate {
			t.Fatalf("other tenant's run %d: %+v", i, x)
		}
	}
	// The first tenant's runs wait for its flusher and then share one
	// transaction, its own.
	ours := r.insertAll(t, []run.New{r.delivery(r.tenant, r.workflow, r.endpoint, "a1"), r.delivery(r.tenant, r.workflow, r.endpoint, "a2")}, 2, release)
	<-first
	for i, x := range ours {
		if x.err != nil || x.duplicate {
			t.Fatalf("run %d: %+v", i, x)
		}
	}
	if n := r.transactions(t, r.tenant, ours[0].id, ours[1].id); n != 1 {
		t.Fatalf("one tenant's runs of a batch were written by %d transactions, want 1", n)
	}
	if n := r.transactions(t, r.tenant, theirs[0].id, theirs[1].id); n != 0 {
		t.Fatalf("a tenant sees %d transactions of another tenant's runs", n)
	}
}

func TestARunWithdrawnBeforeAFlusherTakesItIsNotStored(t *testing.T) {
	r := newBatchRig(t, 16)
	release := r.holdWorkflow(t, r.tenant, r.workflow)
	defer release()
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan inserted, 1)
	go func() {
		var x inserted
		x.id, x.duplicate, x.err = r.g.Insert(ctx, r.delivery(r.tenant, r.workflow, r.endpoint, "withdrawn"))
		done <- x
	}()
	r.waitFor(t, func() bool { return r.g.Waiting() == 1 })
	cancel()
	if x := <-done; x.err == nil {
		t.Fatalf("a run whose sender left while it waited was answered %+v, want an error", x)
	}
	if n := r.g.Waiting(); n != 0 {
		t.Fatalf("%d runs still wait after the only waiting one was withdrawn", n)
	}
	release()
	<-first
	var stored int
	err := r.db.InTenantTx(context.Background(), r.tenant, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &stored, `SELECT count(*) FROM runs WHERE delivery_id = 'withdrawn'`)
	})
	if err != nil || stored != 0 {
		t.Fatalf("withdrawn run stored %d times (%v), want 0", stored, err)
	}
}

func TestARunTakenIntoABatchIsAnsweredWithItsOutcomeEvenIfItsSenderLeft(t *testing.T) {
	r := newBatchRig(t, 16)
	wf2, ep2 := r.workflowWithEndpoint(t, r.tenant)
	releaseFirst := r.holdWorkflow(t, r.tenant, r.workflow)
	defer releaseFirst()
	releaseBatch := r.holdWorkflow(t, r.tenant, wf2)
	defer releaseBatch()
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make([]inserted, 3)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			c := context.Background()
			if i == 1 {
				c = ctx
			}
			out[i].id, out[i].duplicate, out[i].err = r.g.Insert(c, r.delivery(r.tenant, wf2, ep2, fmt.Sprint("left-", i)))
		})
	}
	r.waitFor(t, func() bool { return r.g.Waiting() == 3 })
	releaseFirst() // the flusher takes the three, and waits on the second workflow's lock
	<-first
	r.waitFor(t, func() bool { return r.g.Waiting() == 0 })
	r.waitForALockWait(t)
	cancel()
	releaseBatch()
	wg.Wait()
	for i, x := range out {
		if x.err != nil || x.duplicate || x.id == uuid.Nil {
			t.Fatalf("run %d: %+v, want it stored and answered (the sender of run 1 left while its batch committed)", i, x)
		}
	}
}

func TestABatchCarriesAtMostItsByteBudgetOfBodies(t *testing.T) {
	r := newBatchRig(t, 16)
	release := r.holdWorkflow(t, r.tenant, r.workflow)
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	big := make([]run.New, 3)
	for i := range big {
		big[i] = r.delivery(r.tenant, r.workflow, r.endpoint, fmt.Sprint("big-", i))
		big[i].Body = []byte(`"` + strings.Repeat("x", 3<<20) + `"`)
	}
	out := r.insertAll(t, big, 3, release)
	<-first
	for i, x := range out {
		if x.err != nil || x.duplicate {
			t.Fatalf("run %d: %+v", i, x)
		}
	}
	if got := r.commits.String(); got != "[1 split=false 1 split=false 1 split=false 1 split=false]" {
		t.Fatalf("observed commits %s, want each 3 MiB body in a transaction of its own", got)
	}
}

func TestABatchThatGetsNoConnectionAnswersAllItsSendersAndThoseWaitingBehindItAtOnce(t *testing.T) {
	r := newBatchRig(t, 16)
	// A pool of one connection: the flusher's, until the test takes it.
	pool, err := postgres.Open(context.Background(), r.db.AppURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	r.g = run.NewGroupCommit(pool, 1, 16)
	warmStatements(t, r, pool)
	r.commits = &commits{}
	r.g.Observe = r.commits.observe
	waits := pool.Stats().WaitCount
	insert := func(out []inserted, prefix string) *sync.WaitGroup {
		var wg sync.WaitGroup
		for i := range out {
			wg.Go(func() {
				ctx := postgres.WithConnWait(context.Background(), 2*time.Second)
				out[i].id, out[i].duplicate, out[i].err = r.g.Insert(ctx, r.delivery(r.tenant, r.workflow, r.endpoint, fmt.Sprint(prefix, i)))
			})
		}
		return &wg
	}

	release := r.holdWorkflow(t, r.tenant, r.workflow)
	first := r.blockFlusher(t, r.tenant, r.workflow, r.endpoint)
	batch := make([]inserted, 5)
	sent := insert(batch, "d")
	r.waitFor(t, func() bool { return r.g.Waiting() == 5 })
	// Ask for the pool's connection before the first run gives it back, so
	// that the batch behind it finds none.
	taken := make(chan struct{})
	go func() {
		conn, err := pool.Conn(context.Background())
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { _ = conn.Close() })
		close(taken)
	}()
	r.waitFor(t, func() bool { return pool.Stats().WaitCount == waits+1 })
	release()
	if x := <-first; x.err != nil {
		t.Fatalf("first run: %v", x.err)
	}
	<-taken
	// While the batch waits for a connection, more runs queue behind it.
	r.waitFor(t, func() bool { return pool.Stats().WaitCount == waits+2 })
	behind := make([]inserted, 3)
	sentBehind := insert(behind, "e")
	r.waitFor(t, func() bool { return r.g.Waiting() == 3 })
	sent.Wait()
	sentBehind.Wait()
	for i, x := range append(batch, behind...) {
		if !postgres.IsPoolBusy(x.err) {
			t.Errorf("run %d = %+v, want the pool-busy answer", i, x)
		}
	}
	// A split would have retried each run alone, each waiting for a
	// connection again; the runs behind are answered with the batch's
	// error without waiting for one themselves.
	if got := r.commits.String(); got != "[1 split=false]" {
		t.Errorf("observed commits %s, want only the first run's (the batch failed whole, not split)", got)
	}
	if n := pool.Stats().WaitCount - waits; n != 2 {
		t.Errorf("waits for a connection = %d, want 2 (the test's and the batch's)", n)
	}
}

// warmStatements has the pool prepare the lone and the batch insert (on
// its one connection) by committing a run alone and a batch on another
// endpoint, so that no background prepare asks for the connection later.
func warmStatements(t *testing.T, r batchRig, pool *postgres.DB) {
	t.Helper()
	wf, ep := r.workflowWithEndpoint(t, r.tenant)
	release := r.holdWorkflow(t, r.tenant, wf)
	first := r.blockFlusher(t, r.tenant, wf, ep)
	out := r.insertAll(t, []run.New{r.delivery(r.tenant, wf, ep, "w1"), r.delivery(r.tenant, wf, ep, "w2")}, 2, release)
	if x := <-first; x.err != nil || out[0].err != nil || out[1].err != nil {
		t.Fatalf("warming up: %v %v %v", x.err, out[0].err, out[1].err)
	}
	r.waitFor(t, func() bool {
		var n int
		err := pool.GetContext(context.Background(), &n, `SELECT count(*) FROM pg_prepared_statements`)
		return err == nil && n >= 2
	})
}

package run

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"aias/internal/logging"
	"aias/internal/postgres"
)

// GroupCommit stores the runs of deliveries that arrive together in one
// transaction: one statement, one commit and one WAL flush for several
// senders, each still answered only once its own row is committed.
//
// It adds no wait. Each tenant's runs wait on a list of their own, which
// up to a few goroutines, the flushers, take them off; a flusher takes
// every run of the tenant waiting at that moment (up to the batch size) and
// commits them. A delivery that finds a flusher of its tenant free is stored
// alone, at once, by the same statement as Insert; batches form only while
// the tenant's flushers are busy committing, that is, under load, and grow
// with it. A flusher that finds nothing waiting ends, so an idle
// GroupCommit holds no goroutine and needs no closing.
//
// A transaction belongs to one tenant (aias_scope refuses a second), which
// is why the lists are per tenant; it also keeps one tenant's slow commit
// (a lock it waits on) from holding another tenant's deliveries. Every row
// goes through aias_insert_run, as Insert's does: a repeated delivery id
// in the same batch is answered as a duplicate of the first, exactly as
// across batches. If the statement fails, nothing of the batch was stored
// (one transaction), and each of its runs is inserted again on its own, so
// a row that cannot be stored fails only its own delivery.
type GroupCommit struct {
	// Observe, when set, is told of every transaction: how many runs it
	// carried, and whether it failed and they were inserted one by one.
	Observe func(runs int, split bool)

	db       *postgres.DB
	flushers int // per tenant
	max      int

	mu      sync.Mutex
	tenants map[uuid.UUID]*tenantRuns // tenants with runs waiting or being committed
}

// tenantRuns are one tenant's runs waiting for a flusher.
type tenantRuns struct {
	waiting  []*pendingRun
	flushing int // flushers running
}

type pendingRun struct {
	ctx       context.Context
	n         New
	id        uuid.UUID
	duplicate bool
	err       error
	stored    chan struct{}
}

// NewGroupCommit stores runs with up to flushers transactions of each
// tenant at once, of up to batch runs each.
func NewGroupCommit(db *postgres.DB, flushers, batch int) *GroupCommit {
	return &GroupCommit{db: db, flushers: max(flushers, 1), max: max(batch, 1), tenants: map[uuid.UUID]*tenantRuns{}}
}

// Insert is Insert on the pool, committed with the runs of its tenant that
// arrive with it. If ctx ends while the run still waits for a flusher, it
// is withdrawn and nothing is stored; once a flusher has taken it, Insert
// waits for the outcome whatever ctx does (the statement is bounded by the
// latest deadline of its runs), so that the caller learns whether the run
// was stored: it must then answer and enqueue it, or else give back what
// it admitted.
func (g *GroupCommit) Insert(ctx context.Context, n New) (uuid.UUID, bool, error) {
	if n.ID == uuid.Nil {
		n.ID = uuid.New()
	}
	p := &pendingRun{ctx: ctx, n: n, stored: make(chan struct{})}
	g.mu.Lock()
	t := g.tenants[n.TenantID]
	if t == nil {
		t = &tenantRuns{}
		g.tenants[n.TenantID] = t
	}
	t.waiting = append(t.waiting, p)
	if t.flushing < g.flushers {
		t.flushing++
		go g.flush(n.TenantID, t)
	}
	g.mu.Unlock()
	select {
	case <-p.stored:
	case <-ctx.Done():
		if g.withdraw(t, p) {
			return uuid.Nil, false, fmt.Errorf("insert run: %w", ctx.Err())
		}
		<-p.stored
	}
	return p.id, p.duplicate, p.err
}

// withdraw takes p off its tenant's list, unless a flusher has taken it.
func (g *GroupCommit) withdraw(t *tenantRuns, p *pendingRun) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := slices.Index(t.waiting, p)
	if i < 0 {
		return false
	}
	t.waiting = slices.Delete(t.waiting, i, i+1)
	return true
}

// maxBatchBytes bounds the bodies of one batch: its statement carries them
// all at once (in base64), and one large body goes alone.
const maxBatchBytes = 4 << 20

// flush commits the tenant's waiting runs, batch after batch, until none
// is left.
func (g *GroupCommit) flush(tenantID uuid.UUID, t *tenantRuns) {
	for {
		g.mu.Lock()
		if len(t.waiting) == 0 {
			if t.flushing--; t.flushing == 0 {
				delete(g.tenants, tenantID)
			}
			g.mu.Unlock()
			return
		}
		k := g.batchLen(t.waiting)
		batch := slices.Clone(t.waiting[:k])
		t.waiting = slices.Delete(t.waiting, 0, k)
		g.mu.Unlock()
		if err := g.commit(batch); postgres.IsPoolBusy(err) {
			g.failWaiting(t, err)
		}
	}
}

// failWaiting answers every run waiting for the tenant's flusher with err,
// the pool-busy error its last batch got: each would wait for a connection
// as long again, one batch after another, and the last of a long list
// would be answered after many connection waits instead of one.
func (g *GroupCommit) failWaiting(t *tenantRuns, err error) {
	g.mu.Lock()
	waiting := t.waiting
	t.waiting = nil
	g.mu.Unlock()
	for _, p := range waiting {
		p.err = err
		close(p.stored)
	}
}

// batchLen is how many of the waiting runs the next batch takes: at least
// one, at most max, and no more bodies than maxBatchBytes.
func (g *GroupCommit) batchLen(waiting []*pendingRun) int {
	k, bytes := 1, len(waiting[0].n.Body)
	for k < min(len(waiting), g.max) && bytes+len(waiting[k].n.Body) <= maxBatchBytes {
		bytes += len(waiting[k].n.Body)
		k++
	}
	return k
}

// commit stores one tenant's runs in one statement, or each on its own
// when Postgres refused that statement. It returns the error that failed
// every run of part without reaching Postgres, if one did.
func (g *GroupCommit) commit(part []*pendingRun) (failed error) {
	defer func() {
		// A panic here would take the whole process down, not one request:
		// it fails the batch's runs instead.
		r := recover()
		for _, p := range part {
			if r != nil && p.id == uuid.Nil && p.err == nil {
				p.err = fmt.Errorf("insert run: panic: %v", r)
			}
			close(p.stored)
		}
	}()
	if len(part) == 1 {
		g.observe(1, false)
		p := part[0]
		ctx, cancel := batchContext(part) // a sender leaving mid-statement must still learn the outcome
		defer cancel()
		p.id, p.duplicate, p.err = Insert(ctx, g.db, p.n)
		return p.err
	}
	err := g.insertMany(part)
	if err == nil {
		g.observe(len(part), false)
		return nil
	}
	if !postgres.IsServerError(err) {
		// No connection in time, the connection lost, the deadline: Postgres
		// did not refuse a row, and inserting them one by one would only wait
		// as long again per run. Every sender gets the batch's answer.
		for _, p := range part {
			p.err = err
		}
		return err
	}
	// Postgres refused the statement, so nothing of it was committed: each
	// run is inserted on its own, and a bad row fails only its delivery.
	logging.From(part[0].ctx).Warn().Err(err).Int("runs", len(part)).Msg("intake batch failed; inserting its runs one by one")
	g.observe(len(part), true)
	for _, p := range part {
		if err := p.ctx.Err(); err != nil { // its sender left; it waits no more
			p.err = fmt.Errorf("insert run: %w", err)
			continue
		}
		p.id, p.duplicate, p.err = Insert(p.ctx, g.db, p.n)
	}
	return nil
}

func (g *GroupCommit) observe(runs int, split bool) {
	if g.Observe != nil {
		g.Observe(runs, split)
	}
}

// insertMany inserts every run of part in one statement, and so one
// transaction (insertBatch). The runs go in the order of their delivery
// ids, so two batches that share ids mostly wait on each other's in one
// order; a deadlock left (ids across endpoints, replay locks) is a server
// error, which splits the batch.
func (g *GroupCommit) insertMany(part []*pendingRun) error {
	slices.SortStableFunc(part, func(a, b *pendingRun) int { return cmp.Compare(a.n.DeliveryID, b.n.DeliveryID) })
	ns := make([]New, len(part))
	for i, p := range part {
		ns[i] = p.n
	}
	ctx, cancel := batchContext(part)
	defer cancel()
	out, err := insertBatch(ctx, g.db, ns)
	if err != nil {
		return err
	}
	for i, o := range out {
		part[i].id, part[i].duplicate = o.ID, o.Duplicate
	}
	return nil
}

// batchContext is the context a batch's statement runs under: the values
// of its first run's (the connection wait, the trace), none of its
// senders' cancellation (one sender hanging up must not fail the others),
// and the latest of their deadlines.
func batchContext(part []*pendingRun) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(part[0].ctx)
	var latest time.Time
	for _, p := range part {
		d, ok := p.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}

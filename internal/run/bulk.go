package run

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"aias/internal/entitlement"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/page"
	"aias/internal/postgres"
	"aias/internal/workflow"
)

// Bulk run control: replay or re-drive every run a filter matches, up to a
// limit, oldest first. The database work is done in batches of bulkBatch
// runs, one transaction each, walking the runs in keyset order
// (created_at, id), so a large set never holds its locks for long and a run
// is handled at most once per call.

// Limits of a bulk call.
const (
	BulkDefaultLimit = 1000
	BulkMaxLimit     = 10000
	bulkBatch        = 500
)

// BulkAction is what a bulk call does to the runs it selects.
type BulkAction string

// The bulk actions.
const (
	BulkReplay  BulkAction = "replay"
	BulkRedrive BulkAction = "redrive"
)

// bulkStatuses are the statuses each action may select; for re-drive they
// are also the default.
var bulkStatuses = map[BulkAction][]Status{
	BulkReplay:  {Succeeded, Failed, Dead, Canceled},
	BulkRedrive: {Failed, Dead},
}

// BulkRequest is a bulk call as a client sends it. ParseBulk validates it.
type BulkRequest struct {
	Status        []string `json:"status"`
	WorkflowID    string   `json:"workflow_id"`
	CreatedAfter  string   `json:"created_after"`  // RFC 3339, inclusive
	CreatedBefore string   `json:"created_before"` // RFC 3339, exclusive
	Version       string   `json:"version"`        // "pinned" (default) or "current"
	Limit         *int     `json:"limit"`          // default BulkDefaultLimit
	Cursor        string   `json:"cursor"`         // next_cursor of an earlier call
}

// BulkFilter is a validated bulk call: which runs, and how to act on them.
type BulkFilter struct {
	Action        BulkAction
	Statuses      []Status
	WorkflowID    uuid.UUID    // uuid.Nil: every workflow
	CreatedAfter  *time.Time   // runs created at or after
	CreatedBefore *time.Time   // runs created before
	Current       bool         // on the workflow's current version instead of the run's own
	Limit         int          // at most this many runs
	After         *page.Cursor // continue after this run (oldest first)
}

// BulkResult is what a bulk call did.
type BulkResult struct {
	Count int         // runs replayed (new runs made) or re-driven
	Held  int         // of the new runs of a replay, those held over the monthly quota
	More  bool        // runs after the last one handled still match
	Next  page.Cursor // where a further call continues: after the last run handled
}

// ParseBulk validates a bulk request for an action, naming every offending
// field at once.
func ParseBulk(a BulkAction, r BulkRequest) (BulkFilter, error) {
	f := BulkFilter{Action: a, Limit: BulkDefaultLimit}
	var fields []errs.FieldError
	bad := func(path, msg string) { fields = append(fields, errs.FieldError{Path: path, Message: msg}) }
	f.Statuses = parseStatuses(a, r.Status, bad)
	if r.WorkflowID != "" {
		id, err := uuid.Parse(r.WorkflowID)
		if err != nil {
			bad("workflow_id", "must be a UUID")
		}
		f.WorkflowID = id
	}
	f.CreatedAfter = parseTime(r.CreatedAfter, "created_after", bad)
	f.CreatedBefore = parseTime(r.CreatedBefore, "created_before", bad)
	if f.CreatedAfter != nil && f.CreatedBefore != nil && !f.CreatedAfter.Before(*f.CreatedBefore) {
		bad("created_after", "must be before created_before")
	}
	switch r.Version {
	case "", "pinned":
	case "current":
		f.Current = true
	default:
		bad("version", "must be pinned or current")
	}
	if r.Limit != nil {
		f.Limit = *r.Limit
		if f.Limit < 1 || f.Limit > BulkMaxLimit {
			bad("limit", "must be between 1 and "+strconv.Itoa(BulkMaxLimit))
		}
	}
	if r.Cursor != "" {
		c, err := page.Decode(r.Cursor)
		if err != nil {
			bad("cursor", "is not a cursor this server issued")
		}
		f.After = c
	}
	if len(fields) > 0 {
		return f, errs.Validation("invalid bulk "+string(a)+" filter", fields...)
	}
	return f, nil
}

// parseStatuses checks the requested statuses against what the action may
// select. Re-drive defaults to failed and dead; replay must name its own.
func parseStatuses(a BulkAction, in []string, bad func(path, msg string)) []Status {
	allowed := bulkStatuses[a]
	if len(in) == 0 {
		if a == BulkRedrive {
			return slices.Clone(allowed)
		}
		bad("status", "is required: name one or more of "+statusList(allowed))
		return nil
	}
	var out []Status
	for i, s := range in {
		st := Status(s)
		if !slices.Contains(allowed, st) {
			bad(fmt.Sprintf("status[%d]", i), "must be "+statusList(allowed)+": only those runs can be "+pastTense(a))
			continue
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out
}

func statusList(ss []Status) string {
	out := ""
	for i, s := range ss {
		switch {
		case i == 0:
		case i == len(ss)-1:
			out += " or "
		default:
			out += ", "
		}
		out += string(s)
	}
	return out
}

func pastTense(a BulkAction) string {
	if a == BulkRedrive {
		return "re-driven"
	}
	return "replayed"
}

func parseTime(s, path string, bad func(path, msg string)) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		bad(path, "must be an RFC 3339 time, e.g. 2025-01-31T00:00:00Z")
		return nil
	}
	return &t
}

// bulkWhere selects the runs of a bulk call after a keyset position.
//
//	$1 statuses  $2 workflow id or NULL  $3 created at or after, or NULL
//	$4 created before (the request's bound, or the call's start, whichever is earlier)
//	$5, $6 the position (created_at, id) to continue after
//	$7 whether the workflow must be live (version "current": a deleted
//	   workflow has no current version, so its runs do not match)
//	$8 the tenant
const bulkWhere = `
 WHERE tenant_id = $8 AND status = ANY($1::text[])
   AND ($2::uuid IS NULL OR workflow_id = $2)
   AND ($3::timestamptz IS NULL OR created_at >= $3)
   AND created_at < $4
   AND (created_at, id) > ($5, $6)
   AND (NOT $7 OR EXISTS (SELECT 1 FROM workflows w WHERE w.id = runs.workflow_id AND w.deleted_at IS NULL))`

// selectBulk is the next batch, oldest first; $9 is the batch size.
const selectBulk = `SELECT id, created_at FROM runs` + bulkWhere + `
 ORDER BY created_at, id
 LIMIT $9`

// moreBulk says whether any run after the position still matches.
const moreBulk = `SELECT EXISTS (SELECT 1 FROM runs` + bulkWhere + `)`

// args are the parameters $1..$8 of bulkWhere. until bounds the call to the
// runs that existed when it started: the runs a replay makes, or a re-driven
// run that fails again, are never picked up by the same call.
func (f BulkFilter) args(q postgres.Querier, until time.Time, after page.Cursor) []any {
	statuses := make([]string, len(f.Statuses))
	for i, s := range f.Statuses {
		statuses[i] = string(s)
	}
	if f.CreatedBefore != nil && f.CreatedBefore.Before(until) {
		until = *f.CreatedBefore
	}
	return []any{postgres.StringArray(statuses), nullUUID(f.WorkflowID), f.CreatedAfter, until,
		after.CreatedAt, after.ID, f.Current, postgres.Tenant(q)}
}

// start checks that the filter's workflow is the tenant's (row-level
// security hides another tenant's: not found, like everywhere else) and
// returns the database's clock, which bounds the call.
func (f BulkFilter) start(ctx context.Context, db *postgres.DB, tenantID uuid.UUID) (page.Cursor, time.Time, error) {
	var until time.Time
	err := db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		if f.WorkflowID != uuid.Nil {
			var live bool
			const find = `SELECT deleted_at IS NULL FROM workflows WHERE id = $1 AND tenant_id = $2`
			err := q.GetContext(ctx, &live, find, f.WorkflowID, tenantID)
			if postgres.IsNoRows(err) || (err == nil && f.Current && !live) {
				return errs.NotFoundf("workflow not found")
			}
			if err != nil {
				return fmt.Errorf("find workflow %s: %w", f.WorkflowID, postgres.Classify(err))
			}
		}
		return postgres.Classify(q.GetContext(ctx, &until, `SELECT now()`))
	})
	var after page.Cursor // the zero position precedes every run
	if f.After != nil {
		after = *f.After
	}
	return after, until, err
}

type bulkKey struct {
	ID        uuid.UUID `db:"id"`
	CreatedAt time.Time `db:"created_at"`
}

func (k bulkKey) cursor() page.Cursor { return page.Cursor{CreatedAt: k.CreatedAt, ID: k.ID} }

// batch returns the next keys of the filter after a position; lock takes
// row locks for the rest of the transaction.
func (f BulkFilter) batch(ctx context.Context, q postgres.Querier, until time.Time, after page.Cursor, n int, lock bool) ([]bulkKey, error) {
	query := selectBulk
	if lock {
		query += ` FOR UPDATE`
	}
	var keys []bulkKey
	if err := q.SelectContext(ctx, &keys, query, append(f.args(q, until, after), n)...); err != nil {
		return nil, fmt.Errorf("select runs for bulk %s: %w", f.Action, postgres.Classify(err))
	}
	return keys, nil
}

// more reports whether runs after the position still match.
func (f BulkFilter) more(ctx context.Context, db *postgres.DB, tenantID uuid.UUID, until time.Time, after page.Cursor) (bool, error) {
	var more bool
	err := db.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		return postgres.Classify(q.GetContext(ctx, &more, moreBulk, f.args(q, until, after)...))
	})
	if err != nil {
		return false, fmt.Errorf("look for more runs: %w", err)
	}
	return more, nil
}

// RedriveMatching re-drives every failed or dead run the filter matches, up
// to its limit, exactly as Redrive does one: back to queued with a fresh
// attempt budget, resuming after its last succeeded step. Each batch is one
// transaction; the runs' tasks are revived after it commits, best effort
// (the sweep enqueues queued runs Redis does not hold). An error ends the
// call as it ends ReplayMatching's (stoppedEarly).
func RedriveMatching(ctx context.Context, db *postgres.DB, queue Reviver, tenantID uuid.UUID, f BulkFilter) (BulkResult, error) {
	var res BulkResult
	after, until, err := f.start(ctx, db, tenantID)
	if err != nil {
		return res, fmt.Errorf("bulk redrive: %w", err)
	}
	revive := reviver(ctx, queue, tenantID)
	for res.Count < f.Limit {
		n := min(bulkBatch, f.Limit-res.Count)
		var ids []uuid.UUID
		var keys []bulkKey
		err := db.InTenantTx(ctx, tenantID, func(q postgres.Querier) (err error) {
			if keys, err = f.batch(ctx, q, until, after, n, true); err != nil || len(keys) == 0 {
				return err
			}
			ids, err = redriveRuns(ctx, q, keys, f.Current)
			return err
		})
		if err != nil {
			res.Next = after
			return stoppedEarly(ctx, "bulk redrive", res, err)
		}
		if len(keys) > 0 {
			after = keys[len(keys)-1].cursor()
		}
		res.Count += len(ids)
		revive(ids)
		if len(keys) < n {
			break
		}
	}
	res.Next = after
	if res.More, err = f.more(ctx, db, tenantID, until, after); err != nil {
		return stoppedEarly(ctx, "bulk redrive", res, err)
	}
	return res, nil
}

// reviver revives re-driven runs' tasks until Redis fails once; the sweep
// enqueues the rest, so one failure is enough to stop paying timeouts.
func reviver(ctx context.Context, queue Reviver, tenantID uuid.UUID) func(ids []uuid.UUID) {
	ctx = context.WithoutCancel(ctx)
	failed := false
	return func(ids []uuid.UUID) {
		for _, id := range ids {
			if failed {
				return
			}
			if err := queue.Revive(ctx, tenantID, id); err != nil {
				failed = true
				logging.From(ctx).Warn().Err(err).Str("run_id", id.String()).
					Msg("revive failed; the re-driven runs are queued and the sweep will enqueue them")
			}
		}
	}
}

// ReplayMatching replays every run the filter matches, up to its limit,
// exactly as Replay does one: a new run with the same trigger, linked by
// replay_of, each admitted by the monthly quota (held over it). When the
// quota and its held buffer are used up the call stops there: what was
// replayed stands and More is set; if nothing was, the quota's error is
// returned. Any other error ends the call too: with nothing replayed it is
// returned; after some batches were committed, the call answers what they
// replayed, with More set and the cursor after them, and logs the error
// (answering the error would have the caller, or its retry, replay those
// runs a second time).
func ReplayMatching(ctx context.Context, db *postgres.DB, queue Enqueuer, tenantID uuid.UUID, f BulkFilter, requestID string,
	admitter Admitter) (BulkResult, error) {
	var res BulkResult
	after, until, err := f.start(ctx, db, tenantID)
	if err != nil {
		return res, fmt.Errorf("bulk replay: %w", err)
	}
	r := newReplayer(tenantID, f.Current, requestID, admitter)
	r.enqueue = enqueuer(ctx, queue, tenantID)
	for res.Count < f.Limit {
		n := min(bulkBatch, f.Limit-res.Count)
		b, err := r.batch(ctx, db, f, until, after, n)
		res.Count, res.Held = res.Count+len(b.made), res.Held+b.held
		if b.last.ID != uuid.Nil {
			after = b.last
		}
		res.Next = after
		if err != nil {
			return stoppedEarly(ctx, "bulk replay", res, err)
		}
		if b.seen < n {
			break
		}
	}
	res.Next = after
	if res.More, err = f.more(ctx, db, tenantID, until, after); err != nil {
		return stoppedEarly(ctx, "bulk replay", res, err)
	}
	return res, nil
}

// stoppedEarly ends a bulk call (what) cut short by err after res: with
// nothing done, err; else what was done, More and the cursor after it,
// since answering the error would have the caller (or its retry) do the
// committed batches again.
func stoppedEarly(ctx context.Context, what string, res BulkResult, err error) (BulkResult, error) {
	if res.Count == 0 {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	if errs.CodeOf(err) != "quota_exhausted" {
		logging.From(ctx).Warn().Err(err).Int("runs", res.Count).Msg(what + " stopped early; answering what it did")
	}
	res.More = true
	return res, nil
}

// pinned names one version of one workflow.
type pinned struct {
	workflow uuid.UUID
	version  int
}

// pinnedDef is what a replay takes from the version it runs.
type pinnedDef struct {
	maxAttempts int
	keyExpr     string // the concurrency_key expression
}

// replayer makes the replays of one bulk call, remembering the workflow
// versions it has looked up.
type replayer struct {
	tenantID  uuid.UUID
	current   bool
	requestID string
	admitter  Admitter
	versions  map[uuid.UUID]int // workflow → current version
	defs      map[pinned]pinnedDef
	enqueue   func(id uuid.UUID, maxAttempts int) // bulk batches only
}

func newReplayer(tenantID uuid.UUID, current bool, requestID string, admitter Admitter) *replayer {
	return &replayer{tenantID: tenantID, current: current, requestID: requestID, admitter: admitter,
		versions: map[uuid.UUID]int{}, defs: map[pinned]pinnedDef{}}
}

// replayBatch is what one transaction of a bulk replay made.
type replayBatch struct {
	seen int         // runs selected
	made []uuid.UUID // new runs committed
	held int         // of those, held
	last page.Cursor // the last original handled (replayed or gone)
}

type queuedRun struct {
	id          uuid.UUID
	maxAttempts int
}

// batch replays the next runs in one transaction and, once it committed,
// enqueues the new runs that were not held. The admissions of a batch that
// does not commit are given back.
func (r *replayer) batch(ctx context.Context, db *postgres.DB, f BulkFilter, until time.Time, after page.Cursor, n int) (replayBatch, error) {
	var b replayBatch
	var adms []entitlement.Admission
	var queued []queuedRun
	var stop error
	err := db.InTenantTx(ctx, r.tenantID, func(q postgres.Querier) error {
		keys, err := f.batch(ctx, q, until, after, n, false)
		if err != nil {
			return err
		}
		b.seen = len(keys)
		originals := make([]string, 0, len(keys))
		for _, k := range keys {
			id, maxAttempts, adm, err := r.one(ctx, q, k.ID)
			if errs.CodeOf(err) == "quota_exhausted" {
				stop = err // keep the replays made so far
				break
			}
			if err != nil {
				return err
			}
			if id == uuid.Nil {
				b.last = k.cursor()
				continue
			}
			adms = append(adms, adm)
			b.made, b.last = append(b.made, id), k.cursor()
			originals = append(originals, k.ID.String())
			if adm.Held {
				b.held++
			} else {
				queued = append(queued, queuedRun{id, maxAttempts})
			}
		}
		return linkReplays(ctx, q, b.made, originals)
	})
	if err != nil {
		for _, a := range adms {
			a.Undo()
		}
		return replayBatch{}, err
	}
	for _, qr := range queued {
		r.enqueue(qr.id, qr.maxAttempts)
	}
	return b, stop
}

// one stores the replay of one run, without its link (linkReplays); a run
// that no longer exists is skipped (uuid.Nil).
func (r *replayer) one(ctx context.Context, q postgres.Querier, id uuid.UUID) (uuid.UUID, int, entitlement.Admission, error) {
	var adm entitlement.Admission
	orig, err := Get(ctx, q, id)
	if errs.Is(err, errs.NotFound) {
		return uuid.Nil, 0, adm, nil // deleted (retention) since it was selected
	}
	if err != nil {
		return uuid.Nil, 0, adm, err
	}
	version, def, err := r.version(ctx, q, orig)
	if err != nil {
		return uuid.Nil, 0, adm, err
	}
	var newID uuid.UUID
	adm, err = admit(ctx, r.admitter, q, r.tenantID, func(held bool) (bool, error) {
		newID, _, err = Insert(ctx, q, New{TenantID: r.tenantID, WorkflowID: orig.WorkflowID, WorkflowVersion: version,
			EndpointID: orig.EndpointID, TriggerKind: TriggerReplay, MaxAttempts: def.maxAttempts, RequestID: r.requestID,
			Body: orig.Body, ContentType: orig.ContentType, Headers: orig.Headers, Query: orig.Query,
			ReceivedAt: orig.ReceivedAt, Held: held, KeyExpr: def.keyExpr})
		return false, err // a new id: never a repeat
	})
	if err != nil {
		return uuid.Nil, 0, adm, err
	}
	return newID, def.maxAttempts, adm, nil
}

// version is the version a replay of orig runs, with what the replay takes from it.
func (r *replayer) version(ctx context.Context, q postgres.Querier, orig Run) (int, pinnedDef, error) {
	version := orig.WorkflowVersion
	if r.current {
		v, ok := r.versions[orig.WorkflowID]
		if !ok {
			w, err := workflow.Get(ctx, q, orig.WorkflowID)
			if err != nil {
				return 0, pinnedDef{}, err
			}
			v, r.versions[orig.WorkflowID] = w.Version, w.Version
		}
		version = v
	}
	key := pinned{orig.WorkflowID, version}
	if d, ok := r.defs[key]; ok {
		return version, d, nil
	}
	def, err := workflow.Pinned(ctx, q, orig.WorkflowID, version)
	if err != nil {
		return 0, pinnedDef{}, err
	}
	r.defs[key] = pinnedDef{maxAttempts: def.EffectiveMaxAttempts(), keyExpr: def.ConcurrencyKey}
	return version, r.defs[key], nil
}

// enqueuer hands new runs to the queue until Redis fails once; the sweep
// enqueues the rest.
func enqueuer(ctx context.Context, queue Enqueuer, tenantID uuid.UUID) func(id uuid.UUID, maxAttempts int) {
	ctx = context.WithoutCancel(ctx)
	failed := false
	return func(id uuid.UUID, maxAttempts int) {
		if !failed && !Enqueue(ctx, queue, tenantID, id, maxAttempts) {
			failed = true
		}
	}
}

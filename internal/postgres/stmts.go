package postgres

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"aias/internal/errs"
)

// Prepared statements.
//
// lib/pq sends a statement that has parameters as an unnamed statement:
// Postgres parses and plans it anew every time, and the driver waits for the
// parse before it binds (two round trips). For the statements AIAS runs per
// webhook and per step, planning costs more than executing (the intake's
// endpoint lookup, a four-table join under row-level security, plans in
// about 0.4 ms and runs in 0.06 ms). A prepared statement is parsed once per
// connection, its plan is cached (Postgres switches to a generic plan once
// it is no worse than the custom ones), and each execution is one round trip.
//
// The pool and its transactions prepare every statement that carries
// parameters, keyed by its text, up to maxPrepared texts (a statement built
// from filters has a handful of shapes, not an unbounded number).
// Statements without parameters keep lib/pq's simple protocol, already one
// round trip.
//
// A statement is prepared on the pool in the background the first time it
// is seen and runs unprepared until then. Preparing in line would need a
// second connection while a transaction holds one; with every connection
// held by a transaction waiting for a second, the pool would deadlock.
// database/sql then prepares the statement on each connection the first
// time it runs there, inside or outside a transaction, on that connection.
type stmtCache struct {
	db *sqlx.DB

	mu      sync.Mutex
	entries map[string]*sqlx.Stmt // nil value: being prepared, or refused
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

const (
	maxPrepared    = 512
	prepareTimeout = 10 * time.Second
)

func newStmtCache(db *sqlx.DB) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{db: db, entries: map[string]*sqlx.Stmt{}, ctx: ctx, cancel: cancel}
}

// get returns the prepared statement for query, or nil when it should run
// unprepared this time (no parameters, not prepared yet, or refused).
func (c *stmtCache) get(query string, args []any) *sqlx.Stmt {
	if c == nil || len(args) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, seen := c.entries[query]
	if seen || c.closed || len(c.entries) >= maxPrepared {
		return s
	}
	c.entries[query] = nil
	c.wg.Add(1)
	go c.prepare(query)
	return nil
}

// prepare prepares query on the pool. A statement Postgres refuses to
// prepare stays unprepared for the life of the pool; the error surfaces
// where the statement runs, as it would have without the cache.
func (c *stmtCache) prepare(query string) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, prepareTimeout)
	defer cancel()
	s, err := c.db.PreparexContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil && !c.closed && (ctx.Err() != nil || errs.Is(Classify(err), errs.Unavailable)):
		delete(c.entries, query) // the pool was busy or Postgres away: try again next time
	case err != nil:
	case c.closed:
		_ = s.Close() //nolint:sqlclosecheck // a statement prepared after the cache closed
	default:
		c.entries[query] = s
	}
}

// settle drops query's prepared statement when err says its cached plan no
// longer fits the schema: a migration changed the columns it returns. The
// call that met it fails (inside a transaction nothing else is possible);
// the next one prepares the statement afresh.
func (c *stmtCache) settle(query string, err error) {
	if c == nil || !isStalePlan(err) {
		return
	}
	c.mu.Lock()
	s := c.entries[query]
	delete(c.entries, query)
	c.mu.Unlock()
	if s != nil {
		_ = s.Close() // database/sql defers it while a transaction still uses the statement
	}
}

// close stops preparing and closes every prepared statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.cancel()
	c.mu.Unlock()
	c.wg.Wait()
	for _, s := range c.entries {
		if s != nil {
			_ = s.Close()
		}
	}
}

// Tx is a transaction that runs statements through the pool's prepared
// statements. Its methods shadow sqlx.Tx's of the same name.
type Tx struct {
	*sqlx.Tx
	stmts  *stmtCache
	tenant uuid.UUID // set by InTenantTx; see Tenant
}

func (tx *Tx) stmt(ctx context.Context, query string, args []any) *sqlx.Stmt {
	if s := tx.stmts.get(query, args); s != nil {
		return tx.StmtxContext(ctx, s)
	}
	return nil
}

func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := tx.stmt(ctx, query, args); s != nil {
		res, err := s.ExecContext(ctx, args...)
		tx.stmts.settle(query, err)
		return res, err
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := tx.stmt(ctx, query, args); s != nil {
		rows, err := s.QueryContext(ctx, args...)
		tx.stmts.settle(query, err)
		return rows, err
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

func (tx *Tx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if s := tx.stmt(ctx, query, args); s != nil { //nolint:sqlclosecheck // closed with the transaction
		rows, err := s.QueryxContext(ctx, args...)
		tx.stmts.settle(query, err)
		return rows, err
	}
	return tx.Tx.QueryxContext(ctx, query, args...)
}

func (tx *Tx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	if s := tx.stmt(ctx, query, args); s != nil { //nolint:sqlclosecheck // closed with the transaction
		return s.QueryRowxContext(ctx, args...)
	}
	return tx.Tx.QueryRowxContext(ctx, query, args...)
}

func (tx *Tx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	err := sqlx.GetContext(ctx, tx, dest, query, args...)
	tx.stmts.settle(query, err)
	return err
}

func (tx *Tx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, tx, dest, query, args...)
}

// The pool's own methods, the same way.

// Each waits for its connection as WithConnWait says (connwait.go).

func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, end := bound(ctx)
	if s := db.stmts.get(query, args); s != nil {
		res, err := s.ExecContext(ctx, args...)
		db.stmts.settle(query, err)
		return res, end(err, false)
	}
	res, err := db.DB.ExecContext(ctx, query, args...)
	return res, end(err, false)
}

func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, end := bound(ctx)
	if s := db.stmts.get(query, args); s != nil {
		rows, err := s.QueryContext(ctx, args...)
		db.stmts.settle(query, err)
		return rows, end(err, true)
	}
	rows, err := db.DB.QueryContext(ctx, query, args...)
	return rows, end(err, true)
}

func (db *DB) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	ctx, end := bound(ctx)
	if s := db.stmts.get(query, args); s != nil { //nolint:sqlclosecheck // cached; closed with the pool
		rows, err := s.QueryxContext(ctx, args...)
		db.stmts.settle(query, err)
		return rows, end(err, true)
	}
	rows, err := db.DB.QueryxContext(ctx, query, args...)
	return rows, end(err, true)
}

func (db *DB) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	ctx, end := bound(ctx)
	_ = end(nil, true)                            // the row's error surfaces at Scan
	if s := db.stmts.get(query, args); s != nil { //nolint:sqlclosecheck // cached; closed with the pool
		return s.QueryRowxContext(ctx, args...)
	}
	return db.DB.QueryRowxContext(ctx, query, args...)
}

func (db *DB) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	ctx, end := bound(ctx)
	err := sqlx.GetContext(ctx, db, dest, query, args...)
	db.stmts.settle(query, err)
	return end(err, false)
}

func (db *DB) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	ctx, end := bound(ctx)
	return end(sqlx.SelectContext(ctx, db, dest, query, args...), false)
}

// Close closes the prepared statements, then the pool.
func (db *DB) Close() error {
	db.stmts.close()
	return db.DB.Close()
}

package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
)

// The statements of one 3-step run with one 4 KB artifact, as few as the
// durability rules allow: the run row committed (the intake), claimed with
// its plan read, each step committed before the next (the third with its
// artifact), the run finished. Every transaction sets the tenant first:
// row-level security is part of the design, not overhead to shave.
var ceilingSQL = map[string]string{
	"tenant": `SELECT set_config('app.tenant_id', $1, true)`,
	"insert": `INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, endpoint_id, trigger_kind, delivery_id,
	                   status, max_attempts, body, content_type, headers, received_at, counted_at)
	           VALUES ($1, $2, $3, $4, $5, 'webhook', $6, 'queued', 3, $7, 'application/json', '{}', now(), now())`,
	"claim": `UPDATE runs SET status = 'running', attempt = attempt + 1, started_at = now(), updated_at = now()
	           WHERE id = $1 AND status = 'queued' RETURNING body`,
	"plan": `SELECT definition FROM workflow_versions WHERE workflow_id = $1 AND version = $2`,
	"step": `INSERT INTO run_steps (tenant_id, run_id, position, name, type, status, attempt, output, started_at, finished_at)
	           VALUES ($1, $2, $3, $4, 'transform', 'succeeded', 1, $5, now(), now())`,
	"touch": `UPDATE runs SET updated_at = now() WHERE id = $1`,
	"artifact": `INSERT INTO artifacts (id, tenant_id, run_id, step_position, name, content_type, size_bytes, sha256, content)
	           VALUES ($1, $2, $3, 2, $4, 'text/plain', $5, $6, $7)`,
	"finish": `UPDATE runs SET status = 'succeeded', finished_at = now(), updated_at = now() WHERE id = $1`,
}

const (
	ceilingTx    = 6
	ceilingStmts = 17
)

type ceilingRun struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
	t     tenantSetup
	body  []byte
	pad   []byte
}

// measureCeiling runs conns clients of straight SQL for d.
func measureCeiling(ctx context.Context, db *postgres.DB, t tenantSetup, conns int, d time.Duration) (Ceiling, error) {
	c := &ceilingRun{db: db.DB.DB, stmts: map[string]*sql.Stmt{}, t: t, pad: []byte(strings.Repeat("x", 4096))}
	c.body = fmt.Appendf(nil, `{"id":"c","total":120,"pad":%q}`, c.pad)
	for name, q := range ceilingSQL {
		s, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return Ceiling{}, fmt.Errorf("prepare %s: %w", name, err)
		}
		defer func() { _ = s.Close() }()
		c.stmts[name] = s
	}
	var (
		n     atomic.Int64
		first error
		once  sync.Once
		wg    sync.WaitGroup
	)
	began := time.Now()
	end := began.Add(d)
	for range conns {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				if err := c.one(ctx); err != nil {
					once.Do(func() { first = err })
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	span := time.Since(began)
	return Ceiling{RunsPerSec: Round2(Rate(int(n.Load()), span)), Runs: int(n.Load()), Conns: conns,
		StmtPerRun: ceilingStmts, TxPerRun: ceilingTx}, first
}

// txStmts runs the prepared statements inside one transaction.
type txStmts struct {
	ctx context.Context
	tx  *sql.Tx
	c   *ceilingRun
}

func (t txStmts) exec(name string, args ...any) error {
	s := t.tx.StmtContext(t.ctx, t.c.stmts[name])
	defer func() { _ = s.Close() }()
	_, err := s.ExecContext(t.ctx, args...)
	return err
}

func (t txStmts) scan(name string, dest any, args ...any) error {
	s := t.tx.StmtContext(t.ctx, t.c.stmts[name])
	defer func() { _ = s.Close() }()
	return s.QueryRowContext(t.ctx, args...).Scan(dest)
}

func (c *ceilingRun) tx(ctx context.Context, fn func(st txStmts) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	st := txStmts{ctx: ctx, tx: tx, c: c}
	if err := st.exec("tenant", c.t.TenantID); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := fn(st); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (c *ceilingRun) one(ctx context.Context) error {
	id := uuid.New()
	err := c.tx(ctx, func(st txStmts) error {
		return st.exec("insert", id, c.t.TenantID, c.t.WorkflowID, c.t.Version, c.t.EndpointID, "ceiling-"+id.String(), c.body)
	})
	if err != nil {
		return fmt.Errorf("ceiling insert: %w", err)
	}
	err = c.tx(ctx, func(st txStmts) error {
		var body, def []byte
		if err := st.scan("claim", &body, id); err != nil {
			return err
		}
		return st.scan("plan", &def, c.t.WorkflowID, c.t.Version)
	})
	if err != nil {
		return fmt.Errorf("ceiling claim: %w", err)
	}
	for pos := range 3 {
		err = c.tx(ctx, func(st txStmts) error {
			if err := st.exec("step", c.t.TenantID, id, pos, fmt.Sprintf("s%d", pos), `{"id":"c","total":144}`); err != nil {
				return err
			}
			if pos == 2 {
				if err := st.exec("artifact", uuid.New(), c.t.TenantID, id, "receipt.txt", len(c.pad), "0", c.pad); err != nil {
					return err
				}
			}
			return st.exec("touch", id)
		})
		if err != nil {
			return fmt.Errorf("ceiling step %d: %w", pos, err)
		}
	}
	err = c.tx(ctx, func(st txStmts) error {
		return st.exec("finish", id)
	})
	if err != nil {
		return fmt.Errorf("ceiling finish: %w", err)
	}
	return nil
}

package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
)

// With every connection held, a call whose context bounds the wait fails
// busy (Unavailable, storage_unavailable, a Retry-After) while
// the connections are still held — pool reads, prepared statements and
// transactions alike; once one is free, the same calls run.
func TestExhaustedPoolAnswersBusyWithinTheWait(t *testing.T) {
	t.Parallel()
	pg := pgtest.New(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pg.AppURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var one int
	if err := db.GetContext(ctx, &one, `SELECT $1::int`, 1); err != nil { // prepared from now on
		t.Fatal(err)
	}
	release := pgtest.HoldPool(t, db, 2)
	bctx := postgres.WithConnWait(ctx, 50*time.Millisecond)
	calls := map[string]func() error{
		"get":    func() error { return db.GetContext(bctx, &one, `SELECT $1::int`, 1) },
		"select": func() error { var xs []int; return db.SelectContext(bctx, &xs, `SELECT 1`) },
		"exec":   func() error { _, err := db.ExecContext(bctx, `SELECT 1`); return err },
		"tx":     func() error { return db.InTx(bctx, func(postgres.Querier) error { return nil }) },
	}
	for name, call := range calls {
		err := call()
		if !errs.Is(err, errs.Unavailable) || errs.CodeOf(err) != "storage_unavailable" || !postgres.IsPoolBusy(err) {
			t.Errorf("%s with the pool exhausted = %v; want storage_unavailable", name, err)
		}
		var e *errs.Error
		if errors.As(err, &e) && e.RetryAfter <= 0 {
			t.Errorf("%s: no RetryAfter on %v", name, err)
		}
	}
	// The caller's own context is untouched: nothing of the wait leaks into it.
	if ctx.Err() != nil {
		t.Fatal(ctx.Err())
	}
	release()
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s with a free connection: %v", name, err)
		}
	}
}

// A call that got its connection is not cut when its wait would have
// ended: the wait bounds the queueing, not the statement.
func TestConnWaitDoesNotCutARunningStatement(t *testing.T) {
	t.Parallel()
	pg := pgtest.New(t)
	ctx := postgres.WithConnWait(context.Background(), 20*time.Millisecond)
	var slept bool
	err := pg.InTx(ctx, func(q postgres.Querier) error {
		return q.GetContext(ctx, &slept, `SELECT pg_sleep(0.2) IS NOT NULL`)
	})
	if err != nil || !slept {
		t.Fatalf("a statement longer than the wait = %v, %v; want it to finish", slept, err)
	}
	if err := pg.GetContext(ctx, &slept, `SELECT pg_sleep($1::float) IS NOT NULL`, 0.2); err != nil {
		t.Fatalf("a pool statement longer than the wait: %v", err)
	}
}

// A storage call cut by its caller's deadline is Unavailable, never an
// unclassified (500) error.
func TestDeadlineIsStorageUnavailable(t *testing.T) {
	t.Parallel()
	pg := pgtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var x bool
	err := pg.GetContext(ctx, &x, `SELECT pg_sleep($1::float) IS NOT NULL`, 5)
	err = postgres.Classify(err)
	if !errs.Is(err, errs.Unavailable) || errs.CodeOf(err) != "storage_unavailable" {
		t.Fatalf("a statement past its deadline = %v; want storage_unavailable", err)
	}
}

// A call that found every connection busy is not IsConnecting: Postgres
// answers, the pool is what is short.
func TestABusyPoolIsNotConnecting(t *testing.T) {
	t.Parallel()
	pg := pgtest.New(t)
	db, err := postgres.Open(context.Background(), pg.AppURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	release := pgtest.HoldPool(t, db, 1)
	defer release()
	err = db.Ping(postgres.WithConnWait(context.Background(), 50*time.Millisecond))
	if !postgres.IsPoolBusy(err) || postgres.IsConnecting(err) {
		t.Errorf("Ping with the pool held = %v; want IsPoolBusy, not IsConnecting", err)
	}
}

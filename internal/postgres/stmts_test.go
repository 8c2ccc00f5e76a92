package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
)

// preparedHere reports whether query is a prepared statement of the
// connection q runs on.
func preparedHere(t *testing.T, ctx context.Context, q postgres.Querier, query string) bool {
	t.Helper()
	var n int
	// No parameters: this probe itself is never prepared.
	rows, err := q.QueryxContext(ctx, `SELECT statement FROM pg_prepared_statements`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s == query {
			n++
		}
	}
	return n > 0
}

func TestStatementsWithParametersRunPreparedOnEveryConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	const query = `SELECT $1::int + 1`
	var got int
	if err := db.GetContext(ctx, &got, query, 41); err != nil || got != 42 {
		t.Fatalf("first run = %d, %v; want 42 (unprepared)", got, err)
	}
	// The first run prepares it in the background; from then on every
	// transaction prepares it once on its own connection and reuses it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		prepared := false
		err := db.InTx(ctx, func(q postgres.Querier) error {
			if err := q.GetContext(ctx, &got, query, 1); err != nil || got != 2 {
				t.Fatalf("in a transaction = %d, %v; want 2", got, err)
			}
			prepared = preparedHere(t, ctx, q, query)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if prepared {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the statement was never prepared on the transaction's connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every connection of a two-connection pool is held by a transaction that
// runs statements never seen before. Preparing in line would need a third
// connection and wait for ever; the cache prepares in the background.
func TestNewStatementsInEveryTransactionDoNotDeadlockThePool(t *testing.T) {
	t.Parallel()
	pg := pgtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, pg.AppURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := range 20 {
				err := db.InTx(ctx, func(q postgres.Querier) error {
					var n int
					// A distinct text per goroutine and round: always unseen.
					query := `SELECT $1::int /* ` + uuid.NewString() + ` */`
					return q.GetContext(ctx, &n, query, g*100+i)
				})
				if err != nil {
					t.Errorf("transaction %d.%d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAScopedFunctionCannotLeaveTheTransactionsTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	err := db.InTenantTx(ctx, uuid.New(), func(q postgres.Querier) error {
		_, err := q.ExecContext(ctx, `SELECT aias_scope($1)`, uuid.New())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("aias_scope to another tenant inside a tenant transaction = %v, want insufficient_privilege (42501)", err)
	}
	tenant := uuid.New()
	err = db.InTenantTx(ctx, tenant, func(q postgres.Querier) error {
		_, err := q.ExecContext(ctx, `SELECT aias_scope($1)`, tenant)
		return err
	})
	if err != nil {
		t.Fatalf("aias_scope to the transaction's own tenant = %v, want nil", err)
	}
}

func TestAScopedStatementLeavesNoTenantBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	// One connection, so the second statement runs where the first did.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `SELECT aias_scope($1)`, uuid.New()); err != nil {
		t.Fatal(err)
	}
	var setting string
	if err := db.GetContext(ctx, &setting, `SELECT coalesce(current_setting('app.tenant_id', true), '')`); err != nil {
		t.Fatal(err)
	}
	if setting != "" {
		t.Fatalf("app.tenant_id after a scoped statement = %q, want it gone with the statement's transaction", setting)
	}
}

// A migration that changes the columns a prepared statement returns makes
// Postgres refuse it ("cached plan must not change result type"): the call
// that meets it fails, and the next one prepares the statement afresh.
func TestAStatementOutdatedByASchemaChangeIsPreparedAfresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := pgtest.New(t)
	db, err := postgres.Open(ctx, pg.OwnerURL, 1) // one connection: every call meets the same prepared statement
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE widgets (id int PRIMARY KEY, name text)`); err != nil {
		t.Fatal(err)
	}
	const query = `SELECT * FROM widgets WHERE id > $1`
	read := func() ([]map[string]any, error) {
		rows, err := db.QueryxContext(ctx, query, 0)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []map[string]any
		for rows.Next() {
			m := map[string]any{}
			if err := rows.MapScan(m); err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, rows.Err()
	}
	deadline := time.Now().Add(10 * time.Second)
	for prepared := false; !prepared; {
		if _, err := read(); err != nil {
			t.Fatal(err)
		}
		_ = db.InTx(ctx, func(q postgres.Querier) error {
			prepared = preparedHere(t, ctx, q, query)
			return nil
		})
		if time.Now().After(deadline) {
			t.Fatal("the statement was never prepared")
		}
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE widgets ADD COLUMN size int; INSERT INTO widgets VALUES (1, 'a', 2)`); err != nil {
		t.Fatal(err)
	}
	_, _ = read() // may meet the outdated statement once
	got, err := read()
	if err != nil {
		t.Fatalf("reading after the schema change, second call: %v; want the statement prepared afresh", err)
	}
	if len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("rows after the schema change = %v, want one row with three columns", got)
	}
}

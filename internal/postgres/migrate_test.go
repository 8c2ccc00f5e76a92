package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"io/fs"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"aias/db"
	"aias/internal/artifact"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/workflow"
)

// Migrations that change how rows are stored keep the rows they find, going
// up and going down: an upgraded database's notified runs start their
// rounds at 1 (00016), and going below 00015 puts every artifact's pieces
// back into its row.
func TestMigrationsKeepExistingRowsBothWays(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	s, err := tenant.Create(ctx, d.DB, "ops@example.com", "ops")
	if err != nil {
		t.Fatal(err)
	}
	def, err := workflow.Decode([]byte(`{"name":"w","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 200_000)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	var runID, artifactID uuid.UUID
	err = d.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
		wf, err := workflow.Create(ctx, q, s.TenantID, def)
		if err != nil {
			return err
		}
		if runID, _, err = run.Insert(ctx, q, run.New{TenantID: s.TenantID, WorkflowID: wf.ID, WorkflowVersion: 1,
			TriggerKind: run.TriggerManual, MaxAttempts: 1, Body: []byte(`{}`), ReceivedAt: time.Now()}); err != nil {
			return err
		}
		a, err := artifact.Insert(ctx, q, artifact.New{TenantID: s.TenantID, RunID: runID, Name: "big", ContentType: "application/octet-stream", Content: content})
		artifactID = a.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	owner, err := sql.Open("postgres", d.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	sub, err := fs.Sub(db.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, owner, sub)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := p.DownTo(ctx, 15); err != nil {
		t.Fatalf("down to 15: %v", err)
	}
	if _, err := owner.ExecContext(ctx, `UPDATE runs SET callback_state = 'delivered' WHERE id = $1`, runID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 16); err != nil {
		t.Fatalf("up to 16: %v", err)
	}
	var round int
	if err := owner.QueryRowContext(ctx, `SELECT callback_round FROM runs WHERE id = $1`, runID).Scan(&round); err != nil || round != 1 {
		t.Errorf("callback_round of a run notified before 00016 = %d (%v), want 1", round, err)
	}

	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatalf("down to 14: %v", err)
	}
	var whole []byte
	if err := owner.QueryRowContext(ctx, `SELECT content FROM artifacts WHERE id = $1`, artifactID).Scan(&whole); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole, content) {
		t.Errorf("artifact content below 00015 = %d bytes, want the %d written in pieces, in order", len(whole), len(content))
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

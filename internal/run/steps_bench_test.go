package run

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/workflow"
)

// BenchmarkStepCommit is one finished step made durable: its record encoded
// and written by one scoped statement, committed, as the executor does
// before it starts the next step.
func BenchmarkStepCommit(b *testing.B) {
	ctx := context.Background()
	db := pgtest.New(b)
	s, err := tenant.Create(ctx, db.DB, "bench@example.com", "bench")
	if err != nil {
		b.Fatal(err)
	}
	def, err := workflow.Decode([]byte("name: b\nsteps:\n  - name: t\n    type: transform\n    with: { output: { id: \"trigger.body.id\" } }\n"), "application/yaml")
	if err != nil {
		b.Fatal(err)
	}
	var runID uuid.UUID
	err = db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
		w, err := workflow.Create(ctx, q, s.TenantID, def)
		if err != nil {
			return err
		}
		runID, _, err = Insert(ctx, q, New{TenantID: s.TenantID, WorkflowID: w.ID, WorkflowVersion: 1, TriggerKind: TriggerManual,
			MaxAttempts: 3, Body: []byte(`{"id":"x"}`), ContentType: "application/json", ReceivedAt: time.Now()})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	output := map[string]any{"id": "A-1", "total": 144.0, "large": true}
	pos := 0
	b.ReportAllocs()
	for b.Loop() {
		pos++
		out, err := json.Marshal(output)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		rec := StepRecord{RunID: runID, Position: pos, Name: "t", Type: "transform", Status: StepSucceeded, Attempt: 1,
			Output: out, StartedAt: &now, FinishedAt: &now}
		if _, err := writeStep(ctx, db, s.TenantID, rec, false, false); err != nil {
			b.Fatal(err)
		}
	}
}

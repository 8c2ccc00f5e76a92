package artifact_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/artifact"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/workflow"
)

type fixture struct {
	db     *pgtest.DB
	tenant uuid.UUID
	run    uuid.UUID
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	s, err := tenant.Create(ctx, db.DB, "ops@example.com", "ops")
	if err != nil {
		t.Fatal(err)
	}
	def, err := workflow.Decode([]byte(`{"name":"w","steps":[{"name":"a","type":"transform","with":{"output":"1"}}]}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{db: db, tenant: s.TenantID}
	err = db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
		wf, err := workflow.Create(ctx, q, s.TenantID, def)
		if err != nil {
			return err
		}
		f.run, _, err = run.Insert(ctx, q, run.New{TenantID: s.TenantID, WorkflowID: wf.ID, WorkflowVersion: 1,
			TriggerKind: run.TriggerManual, MaxAttempts: 1, Body: []byte(`{}`), ReceivedAt: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) insert(t *testing.T, name string, content []byte) artifact.Artifact {
	t.Helper()
	var a artifact.Artifact
	err := f.db.InTenantTx(context.Background(), f.tenant, func(q postgres.Querier) (err error) {
		a, err = artifact.Insert(context.Background(), q, artifact.New{TenantID: f.tenant, RunID: f.run,
			Name: name, ContentType: "application/octet-stream", Content: content})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f fixture) read(t *testing.T, a artifact.Artifact) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := f.db.InTenantTx(context.Background(), f.tenant, func(q postgres.Querier) error {
		return artifact.WriteContent(context.Background(), q, a, &buf)
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (f fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	err := f.db.InTenantTx(context.Background(), f.tenant, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n, query, args...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnArtifactIsStoredInPiecesAndReadBackWhole(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, size := range []int{0, 1, 64 << 10, 64<<10 + 1, 300_000, 3 << 20} {
		content := randomBytes(t, size)
		a := f.insert(t, "a-"+uuid.NewString(), content)
		if a.SizeBytes != int64(size) {
			t.Errorf("size %d: stored size_bytes %d", size, a.SizeBytes)
		}
		if got := f.read(t, a); !bytes.Equal(got, content) {
			t.Errorf("size %d: read back %d bytes that differ from the %d written", size, len(got), size)
		}
		first := f.count(t, `SELECT octet_length(content) FROM artifacts WHERE id = $1`, a.ID)
		chunks := f.count(t, `SELECT count(*) FROM artifact_chunks WHERE artifact_id = $1`, a.ID)
		wantChunks := max(0, (size-1)/(64<<10))
		if first != min(size, 64<<10) || chunks != wantChunks {
			t.Errorf("size %d: %d bytes in the row and %d chunks, want %d and %d", size, first, chunks, min(size, 64<<10), wantChunks)
		}
	}
}

func TestARetriedStepKeepsTheFirstCopyWithoutAddingPieces(t *testing.T) {
	t.Parallel()
	f := setup(t)
	first := randomBytes(t, 200_000)
	a := f.insert(t, "receipt", first)
	again := f.insert(t, "receipt", randomBytes(t, 200_000))
	if again.ID != a.ID || again.SHA256 != a.SHA256 {
		t.Errorf("second insert = %s %s, want the first copy %s %s", again.ID, again.SHA256, a.ID, a.SHA256)
	}
	if n := f.count(t, `SELECT count(*) FROM artifact_chunks`); n != 3 {
		t.Errorf("chunks = %d, want the first copy's 3", n)
	}
	if got := f.read(t, again); !bytes.Equal(got, first) {
		t.Error("the artifact read back is not the first copy")
	}
}

// Artifacts stored before chunks existed hold every byte in content.
func TestAnArtifactStoredWholeInItsRowIsReadBack(t *testing.T) {
	t.Parallel()
	f := setup(t)
	content := randomBytes(t, (1<<20)*2+5)
	id := uuid.New()
	err := f.db.InTenantTx(context.Background(), f.tenant, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `INSERT INTO artifacts (id, tenant_id, run_id, step_position, name, content_type, size_bytes, sha256, content)
		           VALUES ($1, $2, $3, 0, 'old', 'application/octet-stream', $4, 'x', $5)`, id, f.tenant, f.run, len(content), content)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, artifact.Artifact{ID: id, SizeBytes: int64(len(content))}); !bytes.Equal(got, content) {
		t.Errorf("read back %d bytes that differ from the %d stored whole", len(got), len(content))
	}
}

func TestAMissingPieceIsAnErrorNotAShortRead(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.insert(t, "torn", randomBytes(t, 200_000))
	owner, err := postgres.Open(context.Background(), f.db.OwnerURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.ExecContext(context.Background(), `DELETE FROM artifact_chunks WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	err = f.db.InTenantTx(context.Background(), f.tenant, func(q postgres.Querier) error {
		return artifact.WriteContent(context.Background(), q, a, &bytes.Buffer{})
	})
	if err == nil {
		t.Error("reading an artifact with a missing piece succeeded")
	}
}

// The worker sends an artifact a piece at a time: writing 8 MiB needs a
// few pieces' worth of heap on top of the content, not the four copies of
// the whole (hex text, then the message buffer) that one parameter costs.
// With the collector kept tight, the heap's high-water mark (HeapSys only
// grows) shows what the write held at once.
func TestWritingALargeArtifactDoesNotHoldItWholeAgain(t *testing.T) {
	f := setup(t)
	content := randomBytes(t, 8<<20)
	f.insert(t, "warm-up", content[:200_000]) // prepared statements, pool
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f.insert(t, "large", content)
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapSys) - int64(before.HeapSys)
	t.Logf("heap grew by %d KiB", grew>>10)
	if grew > 8<<20 {
		t.Errorf("writing an 8 MiB artifact grew the heap by %d MiB, want under 8 MiB", grew>>20)
	}
}

// Foreign-key checks do not see row-level security: the chunk's key holds
// the tenant too, so no tenant can hang a piece on another's artifact.
func TestAPieceCannotBeAttachedToAnotherTenantsArtifact(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.insert(t, "theirs", randomBytes(t, 10))
	other, err := tenant.Create(context.Background(), f.db.DB, "other@example.com", "other")
	if err != nil {
		t.Fatal(err)
	}
	err = f.db.InTenantTx(context.Background(), other.TenantID, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `INSERT INTO artifact_chunks (artifact_id, seq, tenant_id, data) VALUES ($1, 1, $2, 'x')`,
			a.ID, other.TenantID)
		return err
	})
	if err == nil {
		t.Error("another tenant added a piece to this tenant's artifact")
	}
}

// forgetFrom (a redrive on the current version) and retention delete
// artifacts; their pieces go with them.
func TestDeletingAnArtifactDeletesItsPieces(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.insert(t, "big", randomBytes(t, 300_000))
	err := f.db.InTenantTx(context.Background(), f.tenant, func(q postgres.Querier) error {
		_, err := q.ExecContext(context.Background(), `DELETE FROM artifacts WHERE id = $1`, a.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM artifact_chunks`); n != 0 {
		t.Errorf("pieces left of a deleted artifact = %d, want 0", n)
	}
}

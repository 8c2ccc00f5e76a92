// Package artifact stores the files runs produce.
//
// Artifacts live in Postgres (bytea) by default: one system of record, one
// backup, transactional with the step that wrote them. Store is the seam for
// an S3-compatible store when artifacts outgrow the database.
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
)

// Artifact is an artifact's metadata.
type Artifact struct {
	ID           uuid.UUID `db:"id" json:"id"`
	RunID        uuid.UUID `db:"run_id" json:"run_id"`
	StepPosition int       `db:"step_position" json:"step_position"`
	Name         string    `db:"name" json:"name"`
	ContentType  string    `db:"content_type" json:"content_type"`
	SizeBytes    int64     `db:"size_bytes" json:"size_bytes"`
	SHA256       string    `db:"sha256" json:"sha256"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
}

// New is an artifact to store.
type New struct {
	TenantID     uuid.UUID
	RunID        uuid.UUID
	StepPosition int
	Name         string
	ContentType  string
	Content      []byte
}

const columns = `id, run_id, step_position, name, content_type, size_bytes, sha256, created_at`

// chunkBytes is the largest piece of an artifact sent in one statement.
// lib/pq sends a bytea parameter hex-encoded inside one message, four times
// its size in memory while it is sent: a piece bounds that to 256 KiB per
// artifact being written, whatever the artifact's size.
const chunkBytes = 64 << 10

// InRow says whether content fits in the artifacts row alone, without
// chunks: such an artifact can be written by one statement.
func InRow(content []byte) bool { return len(content) <= chunkBytes }

// Sum is the SHA-256 of content as it is stored (lowercase hex).
func Sum(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// Insert stores an artifact in the caller's transaction: the first piece of
// its content in the artifacts row, the rest in artifact_chunks, one
// statement a piece. A retried step that writes the same name again keeps
// the first copy.
func Insert(ctx context.Context, q postgres.Querier, n New) (Artifact, error) {
	first, rest := n.Content, []byte(nil)
	if len(first) > chunkBytes {
		first, rest = n.Content[:chunkBytes], n.Content[chunkBytes:]
	}
	const insert = `
INSERT INTO artifacts (id, tenant_id, run_id, step_position, name, content_type, size_bytes, sha256, content)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_id, step_position, name) DO NOTHING
RETURNING ` + columns
	var a Artifact
	err := q.GetContext(ctx, &a, insert, uuid.New(), n.TenantID, n.RunID, n.StepPosition, n.Name,
		n.ContentType, len(n.Content), Sum(n.Content), first)
	if postgres.IsNoRows(err) {
		const existing = `SELECT ` + columns + ` FROM artifacts WHERE run_id = $1 AND step_position = $2 AND name = $3 AND tenant_id = $4`
		err = q.GetContext(ctx, &a, existing, n.RunID, n.StepPosition, n.Name, postgres.Tenant(q))
		rest = nil // the first copy is whole already
	}
	if err != nil {
		return a, fmt.Errorf("insert artifact %q: %w", n.Name, postgres.Classify(err))
	}
	const chunk = `INSERT INTO artifact_chunks (artifact_id, seq, tenant_id, data) VALUES ($1, $2, $3, $4)`
	for seq := 1; len(rest) > 0; seq++ {
		piece := rest[:min(len(rest), chunkBytes)]
		if _, err := q.ExecContext(ctx, chunk, a.ID, seq, n.TenantID, piece); err != nil {
			return a, fmt.Errorf("insert artifact %q, piece %d: %w", n.Name, seq, postgres.Classify(err))
		}
		rest = rest[len(piece):]
	}
	return a, nil
}

// ListByRun lists a run's artifacts in the order they were written.
func ListByRun(ctx context.Context, q postgres.Querier, runID uuid.UUID) ([]Artifact, error) {
	var out []Artifact
	const list = `SELECT ` + columns + ` FROM artifacts WHERE run_id = $1 AND tenant_id = $2 ORDER BY created_at, name`
	err := q.SelectContext(ctx, &out, list, runID, postgres.Tenant(q))
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %s: %w", runID, postgres.Classify(err))
	}
	return out, nil
}

// Get reads an artifact's metadata.
func Get(ctx context.Context, q postgres.Querier, id uuid.UUID) (Artifact, error) {
	var a Artifact
	err := q.GetContext(ctx, &a, `SELECT `+columns+` FROM artifacts WHERE id = $1 AND tenant_id = $2`, id, postgres.Tenant(q))
	if postgres.IsNoRows(err) {
		return a, errs.NotFoundf("artifact not found")
	}
	if err != nil {
		return a, fmt.Errorf("get artifact %s: %w", id, postgres.Classify(err))
	}
	return a, nil
}

// WriteContent copies an artifact's bytes to w a piece at a time (at most
// 1 MiB), so a large artifact is streamed rather than held whole in memory:
// the artifacts row's content first, then its chunks in order. Artifacts
// stored before chunks existed have all their bytes in content.
func WriteContent(ctx context.Context, q postgres.Querier, a Artifact, w io.Writer) error {
	const slice = 1 << 20
	var written int64
	write := func(b []byte) error {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write artifact %s: %w", a.ID, err)
		}
		written += int64(len(b))
		return nil
	}
	for written < a.SizeBytes {
		var b []byte
		const read = `SELECT substring(content FROM $2 FOR $3) FROM artifacts WHERE id = $1 AND tenant_id = $4`
		err := q.GetContext(ctx, &b, read, a.ID, written+1, slice, postgres.Tenant(q))
		if err != nil {
			return fmt.Errorf("read artifact %s: %w", a.ID, postgres.Classify(err))
		}
		if err := write(b); err != nil {
			return err
		}
		if len(b) < slice {
			break
		}
	}
	for seq := 1; written < a.SizeBytes; seq++ {
		var b []byte
		const read = `SELECT data FROM artifact_chunks WHERE artifact_id = $1 AND seq = $2 AND tenant_id = $3`
		err := q.GetContext(ctx, &b, read, a.ID, seq, postgres.Tenant(q))
		if postgres.IsNoRows(err) {
			return fmt.Errorf("read artifact %s: piece %d is missing after %d of %d bytes", a.ID, seq, written, a.SizeBytes)
		}
		if err != nil {
			return fmt.Errorf("read artifact %s, piece %d: %w", a.ID, seq, postgres.Classify(err))
		}
		if err := write(b); err != nil {
			return err
		}
	}
	return nil
}

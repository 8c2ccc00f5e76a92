package webhook_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/signature"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/webhook"
)

const (
	oldKey    = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	newKey    = "new:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
	newestKey = "newest:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
)

func keys(t *testing.T, spec string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// midway is a keyring whose first Rewrap runs then first: after the rewrap
// has read every value, before it writes any back.
type midway struct {
	keyring.Rewrapper
	once sync.Once
	then func()
}

func (m *midway) Rewrap(sealed, aad []byte) ([]byte, bool, error) {
	m.once.Do(m.then)
	return m.Rewrapper.Rewrap(sealed, aad)
}

// signedEndpoint creates a github endpoint whose secret is sealed under
// sealer, and returns its tenant, URL token and signing secret.
func signedEndpoint(t *testing.T, db *pgtest.DB, sealer webhook.Sealer) (uuid.UUID, string, string) {
	t.Helper()
	ctx := context.Background()
	s, err := tenant.Create(ctx, db.DB, "k@example.com", "k")
	if err != nil {
		t.Fatal(err)
	}
	var issued webhook.Issued
	err = db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
		wf := uuid.New()
		if _, err := q.ExecContext(ctx, `INSERT INTO workflows (id, tenant_id, name, current_version) VALUES ($1, $2, 'w', 1)`, wf, s.TenantID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO workflow_versions (workflow_id, tenant_id, version, definition) VALUES ($1, $2, 1, '{"name":"w","steps":[]}')`, wf, s.TenantID); err != nil {
			return err
		}
		n := webhook.NewEndpoint{WorkflowID: wf, Name: "gh"}
		n.Verification.Scheme = signature.GitHub
		_, issued, err = webhook.Create(ctx, q, sealer, s.TenantID, n, webhook.Limits{MaxBodyBytes: 1 << 20})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.TenantID, issued.Token, issued.SigningSecret
}

// A second rewrap to a newer key (or any writer) that moves a signing
// secret while the first one runs wins: the first one does not put the
// value back on the key the operator is about to drop.
func TestRewrapKeepsASigningSecretRewrittenWhileItRuns(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	tid, token, secret := signedEndpoint(t, db, keys(t, oldKey))
	owner, err := postgres.Open(ctx, db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	rewrap := &midway{Rewrapper: keys(t, newKey+","+oldKey), then: func() {
		if moved, err := webhook.RewrapSecrets(ctx, owner, keys(t, newestKey+","+newKey+","+oldKey)); err != nil || moved != 1 {
			t.Errorf("concurrent RewrapSecrets = %d, %v; want 1 moved", moved, err)
		}
	}}
	if moved, err := webhook.RewrapSecrets(ctx, owner, rewrap); err != nil || moved != 0 {
		t.Errorf("RewrapSecrets = %d, %v; want 0 moved (the row it read was rewritten)", moved, err)
	}
	var onNewest int
	if err := owner.GetContext(ctx, &onNewest, `SELECT count(*) FROM endpoint_secrets WHERE key_id = 'newest'`); err != nil || onNewest != 1 {
		t.Errorf("signing secrets on the newest key = %d (%v), want 1", onNewest, err)
	}

	// The endpoint still verifies with only the newest key configured.
	in := &webhook.Intake{DB: db.DB, Keys: keys(t, newestKey)}
	target, err := in.Resolve(ctx, tid, token)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signature.KeyBytes(signature.GitHub, secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"zen":"ok"}`)
	h, err := signature.Sign(signature.Settings{Scheme: signature.GitHub}, key, "d-1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Verify(target, webhook.Delivery{Body: body, Header: h}); err != nil {
		t.Errorf("Verify with only the newest key = %v, want verified", err)
	}
}

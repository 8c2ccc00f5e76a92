package secret_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/secret"
	"aias/internal/signature"
	"aias/internal/tenant"
)

// rotate issues a callback secret for tenant tid with the given grace.
func rotate(t *testing.T, db *postgres.DB, tid uuid.UUID, grace time.Duration) secret.IssuedCallbackSecret {
	t.Helper()
	var out secret.IssuedCallbackSecret
	err := db.InTenantTx(context.Background(), tid, func(q postgres.Querier) (err error) {
		out, err = secret.RotateCallbackSecret(context.Background(), q, keys(t, oldKey), tid, grace)
		return err
	})
	if err != nil {
		t.Fatalf("RotateCallbackSecret: %v", err)
	}
	return out
}

func callbackKeys(t *testing.T, db *postgres.DB, tid uuid.UUID) ([]signature.Secret, secret.CallbackSecretInfo, error) {
	t.Helper()
	var (
		ks   []signature.Secret
		info secret.CallbackSecretInfo
	)
	err := db.InTenantTx(context.Background(), tid, func(q postgres.Querier) (err error) {
		if info, err = secret.CallbackSecretOf(context.Background(), q); err != nil {
			return err
		}
		ks, err = secret.CallbackKeys(context.Background(), q, keys(t, oldKey), tid)
		return err
	})
	return ks, info, err
}

func keyOf(t *testing.T, display string) signature.Secret {
	t.Helper()
	k, err := signature.KeyBytes(signature.StandardWebhooks, display)
	if err != nil {
		t.Fatalf("KeyBytes(%q): %v", display, err)
	}
	return k
}

func TestACallbackSecretIsAStandardWebhooksSecretShownOnce(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	if _, _, err := callbackKeys(t, db.DB, tid); !secret.IsNoCallbackSecret(err) {
		t.Fatalf("CallbackKeys before any secret = %v, want no_callback_secret", err)
	}
	issued := rotate(t, db.DB, tid, secret.DefaultCallbackGrace)
	if !strings.HasPrefix(issued.Secret, "whsec_") || !issued.Configured || issued.PreviousInGrace {
		t.Fatalf("issued = %+v, want a whsec_ secret, configured, nothing in grace", issued.CallbackSecretInfo)
	}
	ks, info, err := callbackKeys(t, db.DB, tid)
	if err != nil || len(ks) != 1 || string(ks[0]) != string(keyOf(t, issued.Secret)) {
		t.Fatalf("CallbackKeys = %d keys, %v; want the issued one", len(ks), err)
	}
	b, _ := json.Marshal(info)
	if strings.Contains(string(b), strings.TrimPrefix(issued.Secret, "whsec_")[:20]) {
		t.Errorf("metadata %s reveals the secret", b)
	}
	var raw []byte
	err = db.InTenantTx(context.Background(), tid, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &raw, `SELECT ciphertext FROM callback_secrets`)
	})
	if err != nil || strings.Contains(string(raw), issued.Secret) {
		t.Errorf("stored ciphertext holds the secret in clear (%v)", err)
	}
}

func TestRotationKeepsThePreviousSecretSigningForItsGrace(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	first := rotate(t, db.DB, tid, secret.DefaultCallbackGrace)
	second := rotate(t, db.DB, tid, secret.DefaultCallbackGrace)
	ks, info, err := callbackKeys(t, db.DB, tid)
	if err != nil || len(ks) != 2 {
		t.Fatalf("CallbackKeys after a rotation = %d keys, %v; want 2", len(ks), err)
	}
	if string(ks[0]) != string(keyOf(t, second.Secret)) || string(ks[1]) != string(keyOf(t, first.Secret)) {
		t.Error("CallbackKeys order: want the current secret first, then the previous one")
	}
	if !info.PreviousInGrace || info.PreviousExpiresAt == nil || *info.ID != *second.ID {
		t.Fatalf("info = %+v, want the second secret current and the first in grace", info)
	}
	if left := time.Until(*info.PreviousExpiresAt); left < 23*time.Hour || left > 25*time.Hour {
		t.Errorf("previous secret expires in %s, want about 24h", left)
	}
	// Grace 0 ends every earlier secret at once.
	third := rotate(t, db.DB, tid, 0)
	ks, info, err = callbackKeys(t, db.DB, tid)
	if err != nil || len(ks) != 1 || string(ks[0]) != string(keyOf(t, third.Secret)) || info.PreviousInGrace {
		t.Errorf("after a rotation with grace 0: %d keys, in grace %v, %v; want only the new one", len(ks), info.PreviousInGrace, err)
	}
}

func TestAnotherTenantNeitherSeesNorUsesACallbackSecret(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	other, err := tenant.Create(context.Background(), db.DB, "other@example.com", "other")
	if err != nil {
		t.Fatal(err)
	}
	rotate(t, db.DB, tid, secret.DefaultCallbackGrace)
	ks, info, err := callbackKeys(t, db.DB, other.TenantID)
	if !secret.IsNoCallbackSecret(err) || len(ks) != 0 || info.Configured {
		t.Errorf("other tenant: %d keys, configured %v, %v; want nothing (row-level security)", len(ks), info.Configured, err)
	}
	var n int
	err = db.InTenantTx(context.Background(), other.TenantID, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &n, `SELECT count(*) FROM callback_secrets`)
	})
	if err != nil || n != 0 {
		t.Errorf("other tenant counts %d callback secrets (%v), want 0", n, err)
	}
	// A ciphertext moved to the other tenant does not open there.
	owner, err := postgres.Open(context.Background(), db.OwnerURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	if _, err := owner.ExecContext(context.Background(), `UPDATE callback_secrets SET tenant_id = $1`, other.TenantID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := callbackKeys(t, db.DB, other.TenantID); !errs.Is(err, errs.Unavailable) {
		t.Errorf("CallbackKeys of a moved ciphertext = %v, want secret_unavailable", err)
	}
}

func TestCallbackRotationRefusesAGraceOutOfBounds(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	for _, g := range []time.Duration{-time.Second, secret.MaxCallbackGrace + time.Hour} {
		err := db.InTenantTx(context.Background(), tid, func(q postgres.Querier) error {
			_, err := secret.RotateCallbackSecret(context.Background(), q, keys(t, oldKey), tid, g)
			return err
		})
		if e, ok := errs.As(err); !ok || len(e.Fields) != 1 || e.Fields[0].Path != "grace" {
			t.Errorf("RotateCallbackSecret(grace %s) = %v, want a validation error at grace", g, err)
		}
	}
}

func TestRewrapMovesCallbackSecretsToThePrimaryKey(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	issued := rotate(t, db.DB, tid, secret.DefaultCallbackGrace)
	ctx := context.Background()
	owner, err := postgres.Open(ctx, db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	moved, err := secret.RewrapCallbackSecrets(ctx, owner, keys(t, newKey+","+oldKey))
	if err != nil || moved != 1 {
		t.Fatalf("RewrapCallbackSecrets = %d, %v; want 1 moved", moved, err)
	}
	err = db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		ks, err := secret.CallbackKeys(ctx, q, keys(t, newKey), tid)
		if err != nil || len(ks) != 1 || string(ks[0]) != string(keyOf(t, issued.Secret)) {
			t.Errorf("CallbackKeys with only the new key = %d keys, %v", len(ks), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A second rewrap to a newer key (or any writer) that moves a callback
// secret while the first one runs wins: the first one does not put the
// value back on the key the operator is about to drop.
func TestRewrapKeepsACallbackSecretRewrittenWhileItRuns(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	issued := rotate(t, db.DB, tid, secret.DefaultCallbackGrace)
	ctx := context.Background()
	o := owner(t, db)
	const newest = "newest:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
	rewrap := &midway{Rewrapper: keys(t, newKey+","+oldKey), then: func() {
		if moved, err := secret.RewrapCallbackSecrets(ctx, o, keys(t, newest+","+newKey+","+oldKey)); err != nil || moved != 1 {
			t.Errorf("concurrent RewrapCallbackSecrets = %d, %v; want 1 moved", moved, err)
		}
	}}
	if moved, err := secret.RewrapCallbackSecrets(ctx, o, rewrap); err != nil || moved != 0 {
		t.Errorf("RewrapCallbackSecrets = %d, %v; want 0 moved (the row it read was rewritten)", moved, err)
	}
	var onNewest int
	if err := o.GetContext(ctx, &onNewest, `SELECT count(*) FROM callback_secrets WHERE key_id = 'newest'`); err != nil || onNewest != 1 {
		t.Errorf("callback secrets on the newest key = %d (%v), want 1", onNewest, err)
	}
	err := db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		ks, err := secret.CallbackKeys(ctx, q, keys(t, newest), tid)
		if err != nil || len(ks) != 1 || string(ks[0]) != string(keyOf(t, issued.Secret)) {
			t.Errorf("CallbackKeys with only the newest key = %d keys, %v", len(ks), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

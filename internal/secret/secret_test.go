package secret_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"

	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/secret"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
)

const (
	oldKey = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	newKey = "new:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
)

func keys(t *testing.T, spec string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func setup(t *testing.T) (*pgtest.DB, uuid.UUID) {
	t.Helper()
	db := pgtest.New(t)
	s, err := tenant.Create(context.Background(), db.DB, "s@example.com", "s")
	if err != nil {
		t.Fatal(err)
	}
	return db, s.TenantID
}

func TestSecretsAreStoredSealedAndLoadBack(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	ctx := context.Background()
	k := keys(t, oldKey)
	err := db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		if _, err := secret.Put(ctx, q, k, tid, "API_TOKEN", "tok-1234567890-value"); err != nil {
			return err
		}
		var raw []byte
		if err := q.GetContext(ctx, &raw, `SELECT ciphertext FROM tenant_secrets WHERE name = 'API_TOKEN'`); err != nil {
			return err
		}
		if string(raw) == "tok-1234567890-value" || len(raw) < 40 {
			t.Errorf("stored value is not sealed: %q", raw)
		}
		got, err := secret.Load(ctx, q, k, tid, []string{"API_TOKEN"})
		if err != nil || got["API_TOKEN"] != "tok-1234567890-value" {
			t.Errorf("Load = %v, %v; want the value back", got, err)
		}
		_, err = secret.Load(ctx, q, k, tid, []string{"MISSING"})
		if err == nil {
			t.Error("Load of an unset secret = nil error, want secret_not_set")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestACiphertextMovedToAnotherRowDoesNotOpen(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	ctx := context.Background()
	k := keys(t, oldKey)
	err := db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		for _, n := range []string{"A", "B"} {
			if _, err := secret.Put(ctx, q, k, tid, n, "value-of-"+n+"-long-enough"); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `UPDATE tenant_secrets SET ciphertext = (SELECT ciphertext FROM tenant_secrets WHERE name = 'A') WHERE name = 'B'`); err != nil {
			return err
		}
		if _, err := secret.Load(ctx, q, k, tid, []string{"B"}); err == nil {
			t.Error("Load of a row-swapped ciphertext succeeded, want a refusal")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRewrapLeavesNoCiphertextOnTheOldKey(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	ctx := context.Background()
	err := db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		_, err := secret.Put(ctx, q, keys(t, oldKey), tid, "T", "sealed-under-the-old-key")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := postgres.Open(ctx, db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	moved, err := secret.Rewrap(ctx, owner, keys(t, newKey+","+oldKey))
	if err != nil || moved != 1 {
		t.Fatalf("Rewrap = %d, %v; want 1 moved", moved, err)
	}
	var onOld int
	if err := owner.GetContext(ctx, &onOld, `SELECT count(*) FROM tenant_secrets WHERE key_id <> 'new'`); err != nil || onOld != 0 {
		t.Errorf("values still on another key = %d (%v), want 0", onOld, err)
	}
	err = db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		got, err := secret.Load(ctx, q, keys(t, newKey), tid, []string{"T"})
		if err != nil || got["T"] != "sealed-under-the-old-key" {
			t.Errorf("Load with only the new key = %v, %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
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

func owner(t *testing.T, db *pgtest.DB) *postgres.DB {
	t.Helper()
	o, err := postgres.Open(context.Background(), db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func TestRewrapKeepsASecretRotatedWhileItRuns(t *testing.T) {
	t.Parallel()
	db, tid := setup(t)
	ctx := context.Background()
	put := func(k *keyring.Keyring, value string) {
		t.Helper()
		err := db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
			_, err := secret.Put(ctx, q, k, tid, "T", value)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(keys(t, oldKey), "sealed-under-the-old-key")
	current := keys(t, newKey+","+oldKey)
	// The tenant's admin sets the secret again, under the new key, while the rewrap runs.
	rewrap := &midway{Rewrapper: current, then: func() { put(current, "rotated-while-rewrapping") }}
	moved, err := secret.Rewrap(ctx, owner(t, db), rewrap)
	if err != nil || moved != 0 {
		t.Errorf("Rewrap = %d, %v; want 0 moved (the value it read was replaced)", moved, err)
	}
	err = db.InTenantTx(ctx, tid, func(q postgres.Querier) error {
		got, err := secret.Load(ctx, q, keys(t, newKey), tid, []string{"T"})
		if err != nil || got["T"] != "rotated-while-rewrapping" {
			t.Errorf("Load after the rewrap = %v, %v; want the rotated value", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

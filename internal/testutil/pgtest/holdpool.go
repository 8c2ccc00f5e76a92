package pgtest

import (
	"context"
	"testing"
	"time"

	"aias/internal/postgres"
)

// HoldPool holds every connection of db's pool (n) in a transaction, as a
// Postgres too slow for the load would, until the returned release is
// called. Release may be called more than once; it reports a transaction
// that failed.
func HoldPool(t *testing.T, db *postgres.DB, n int) (release func()) {
	t.Helper()
	hold, held, done := make(chan struct{}), make(chan struct{}, n), make(chan error, n)
	for range n {
		go func() {
			done <- db.InTx(context.Background(), func(q postgres.Querier) error {
				if _, err := q.ExecContext(context.Background(), `SELECT 1`); err != nil {
					return err
				}
				held <- struct{}{}
				<-hold
				return nil
			})
		}()
	}
	for range n {
		select {
		case <-held:
		case err := <-done:
			t.Fatalf("holding a connection: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("could not take every connection of the pool")
		}
	}
	released := false
	return func() {
		if released {
			return
		}
		released = true
		close(hold)
		for range n {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}

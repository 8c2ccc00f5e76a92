package postgres

import (
	"context"
	"database/sql"
	"net"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// hangingDialer is a dead link: a TCP connect that is never answered (its
// SYN dropped) until the caller gives up.
type hangingDialer struct{ netDialer }

func (hangingDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A call whose wait runs out while its new connection is still being
// opened is told apart from one that found every connection busy: it is
// IsConnecting (Postgres did not answer), and still IsPoolBusy for the
// callers that only ask that. (Not parallel: it swaps the package's dialer.)
func TestAWaitThatRanOutConnectingIsConnecting(t *testing.T) {
	saved := dialer
	dialer = hangingDialer{saved.(netDialer)}
	defer func() { dialer = saved }()
	c, err := newConnector("postgres://aias@127.0.0.1:5432/aias?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{DB: sqlx.NewDb(sql.OpenDB(connector{c}), "postgres")}
	defer func() { _ = db.Close() }()
	err = db.Ping(WithConnWait(context.Background(), 50*time.Millisecond))
	if !IsConnecting(err) || !IsPoolBusy(err) {
		t.Errorf("Ping whose connect never completes = %v; want IsConnecting and IsPoolBusy", err)
	}
}

// Package postgres is AIAS's one edge to Postgres: opening pools, running
// transactions with the tenant set, applying migrations, and translating
// driver errors into errs kinds. lib/pq is imported here and nowhere else.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq" // also the driver, registered as "postgres"
)

// Querier is what repository functions take: a pool or a transaction.
type Querier interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// Getter reads one row. A Querier is one; so is DB.Scoped.
type Getter interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

// DB is the application's pool. Statements with parameters run prepared
// (stmts.go).
type DB struct {
	*sqlx.DB
	stmts *stmtCache
}

// Open connects to url and checks the connection.
func Open(ctx context.Context, url string, maxConns int) (*DB, error) {
	c, err := newConnector(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(connector{c}), "postgres")
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", Classify(err))
	}
	return &DB{DB: db, stmts: newStmtCache(db)}, nil
}

// DefaultConnectTimeout bounds the opening of a connection (the TCP
// connect and the startup handshake) when the URL sets no connect_timeout
// (or sets 0). lib/pq's own default is to wait forever, and its handshake
// does not watch the caller's context: a Postgres that froze, or vanished
// without a reset, held every new connection, and each call waiting for
// one, for as long as the kernel kept trying.
const DefaultConnectTimeout = 5 * time.Second

// Keepalive probes of every connection: a connection silent this long is
// probed, and given up after keepaliveCount unanswered probes, so a call
// waiting for the answer of a Postgres that vanished without a reset fails
// within about 30 s (Go's defaults: two and a half minutes).
const (
	keepaliveIdle     = 15 * time.Second
	keepaliveInterval = 5 * time.Second
	keepaliveCount    = 3
)

// newConnector is lib/pq's connector of url with DefaultConnectTimeout
// unless url sets its own, and the keepalive probes.
func newConnector(url string) (*pq.Connector, error) {
	cfg, err := pq.NewConfig(url)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.Dialer(dialer)
	return c, nil
}

// dialer opens lib/pq's TCP connections with the keepalive probes above.
var dialer pq.Dialer = netDialer{net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
	Enable: true, Idle: keepaliveIdle, Interval: keepaliveInterval, Count: keepaliveCount}}}

// netDialer is a net.Dialer as lib/pq's Dialer.
type netDialer struct{ d net.Dialer }

func (n netDialer) Dial(network, address string) (net.Conn, error) { return n.d.Dial(network, address) }

func (n netDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	d := n.d
	d.Timeout = timeout
	return d.Dial(network, address)
}

func (n netDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return n.d.DialContext(ctx, network, address)
}

// InTx runs fn in a transaction, committing if fn returns nil.
// The wait for its connection is bounded as WithConnWait says.
func (db *DB) InTx(ctx context.Context, fn func(q Querier) error) error {
	bctx, end := bound(ctx)
	defer end(nil, false) //nolint:errcheck // releases the wait's timer; the error was reported below
	tx, err := db.BeginTxx(bctx, nil)
	if werr := end(err, true); werr != nil {
		if err == nil { // begun, but after the wait ran out: its context is canceled
			_ = tx.Rollback()
		}
		err = werr
		return fmt.Errorf("begin: %w", Classify(err))
	}
	if err := fn(&Tx{Tx: tx, stmts: db.stmts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", Classify(err))
	}
	return nil
}

// InTenantTx runs fn in a transaction scoped to one tenant: row-level security
// shows and accepts only that tenant's rows. The setting is transaction-local
// (set_config(..., true)), so nothing tenant-related outlives the transaction
// on a pooled connection. SET LOCAL takes no bind parameter, hence set_config.
//
// The id is written into the statement rather than bound: a statement
// without parameters goes in one round trip (lib/pq's simple protocol)
// instead of two (parse, then bind), and every tenant transaction pays it.
// A uuid.UUID prints as 36 hex digits and dashes only, so the literal cannot
// carry anything else.
func (db *DB) InTenantTx(ctx context.Context, tenantID uuid.UUID, fn func(q Querier) error) error {
	return db.InTx(ctx, func(q Querier) error {
		if _, err := q.ExecContext(ctx, tenantSetting(tenantID)); err != nil {
			return fmt.Errorf("set tenant: %w", Classify(err))
		}
		q.(*Tx).tenant = tenantID
		return fn(q)
	})
}

// Tenant is the tenant a transaction of InTenantTx (or a Scoped reader) was
// opened for, and uuid.Nil for anything else (the pool, a plain transaction). Repository
// statements filter on it (tenant_id = $n) as well as relying on row-level
// security: the two walls do not fall together, so a role that RLS does not
// confine (a misconfigured DATABASE_URL) still sees one tenant's rows, and a
// statement run outside a tenant transaction matches nothing.
func Tenant(q Getter) uuid.UUID {
	switch q := q.(type) {
	case *Tx:
		return q.tenant
	case scoped:
		return q.tenant
	}
	return uuid.Nil
}

// Scoped reads as one tenant, each read in a transaction of its own: for
// code that reads Postgres only now and then (rebuilding a counter, a
// fallback) and must not hold a transaction open around its other work.
func (db *DB) Scoped(tenantID uuid.UUID) Getter { return scoped{db: db, tenant: tenantID} }

type scoped struct {
	db     *DB
	tenant uuid.UUID
}

func (s scoped) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return s.db.InTenantTx(ctx, s.tenant, func(q Querier) error { return q.GetContext(ctx, dest, query, args...) })
}

// Ping checks that Postgres answers, waiting for a connection as
// WithConnWait says (IsPoolBusy when none came in time).
func (db *DB) Ping(ctx context.Context) error {
	ctx, end := bound(ctx)
	if err := end(db.PingContext(ctx), false); err != nil {
		return Classify(err)
	}
	return nil
}

// IsNoRows reports whether err means the query matched nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// StringArray passes a []string as a Postgres text[] parameter.
func StringArray(ss []string) any { return pq.Array(ss) }

// WithDatabase returns the Postgres URL dsn pointed at database name and,
// when user is not empty, connecting as user. A URL that does not parse is
// returned as it is: connecting with it reports what is wrong.
func WithDatabase(dsn, name, user string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + name
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

// tenantSetting is the statement that scopes a transaction to tenantID.
func tenantSetting(tenantID uuid.UUID) string {
	return "SELECT set_config('app.tenant_id', '" + tenantID.String() + "', true)"
}

package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"aias/internal/errs"
)

// Bounded waits for a connection.
//
// database/sql waits for a free connection for as long as the caller's
// context allows: with the pool exhausted (Postgres slow under load), a
// request queues for its whole deadline and then fails. A context carrying
// a connection wait (WithConnWait) bounds that wait alone: a call that has
// not been given a connection within it fails with an Unavailable error
// (IsPoolBusy) (503 storage_unavailable with Retry-After at the HTTP
// edge), while a call that got one runs to the caller's own deadline.
//
// database/sql says nothing when it hands a connection out, so the driver
// tells: the pool resets a reused connection's session with the caller's
// context before handing it over (driver.SessionResetter), and a new
// connection or a statement on it sees the same context. watchedConn marks
// the call's wait as over at the first of these; the timer that would
// cancel the call then does nothing.

// poolBusyRetry is the Retry-After of a call that got no connection.
const poolBusyRetry = time.Second

// IsPoolBusy reports whether err is a call that got no connection within
// its wait.
func IsPoolBusy(err error) bool { return errors.Is(err, errConnWait) }

type connWaitKey struct{}

// WithConnWait bounds, for every call made with the returned context, the
// wait for a pool connection to d (zero or less: no bound of its own).
func WithConnWait(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, connWaitKey{}, d)
}

// IsConnecting reports whether err is a call whose wait ran out while a new
// connection was being opened for it: the pool had room, and Postgres did
// not complete the connect in time (down, frozen, or a dead link), rather
// than every connection being busy. Such an error is IsPoolBusy too.
func IsConnecting(err error) bool { return errors.Is(err, errConnecting) }

var errConnecting = errors.New("the connect to Postgres did not complete")

// acquisition is one call's wait for a connection: waiting, then either
// given a connection or out of time, whichever came first. connecting
// says a new connection was being opened for the call.
type acquisition struct {
	state      atomic.Int32
	connecting atomic.Bool
}

const (
	waiting int32 = iota
	given
	expired
)

type acquisitionKey struct{}

// errConnWait is the cause with which a call's context is canceled when its
// wait runs out.
var errConnWait = errors.New("no connection within the wait")

// bound starts the wait of one call made with ctx. end reports the call's
// error, translated to a busy error (IsPoolBusy) when the wait ran out,
// and releases the timer; for a call whose result outlives it (rows), pass
// keep = true and the context stays alive until the caller's ends.
func bound(ctx context.Context) (context.Context, func(err error, keep bool) error) {
	d, ok := ctx.Value(connWaitKey{}).(time.Duration)
	if _, inner := ctx.Value(acquisitionKey{}).(*acquisition); !ok || inner { // no bound, or within a bounded call
		return ctx, func(err error, _ bool) error { return err }
	}
	a := &acquisition{}
	cctx, cancel := context.WithCancelCause(context.WithValue(ctx, acquisitionKey{}, a))
	t := time.AfterFunc(d, func() {
		if a.state.CompareAndSwap(waiting, expired) {
			cancel(errConnWait)
		}
	})
	return cctx, func(err error, keep bool) error {
		if !keep || err != nil {
			t.Stop()
			defer cancel(nil)
		}
		// Out of time before the connection came: the call failed, or (a
		// transaction, rows) holds a context already canceled.
		late := a.state.Load() == expired && (err != nil || keep)
		if late && ctx.Err() == nil {
			if err == nil {
				err = context.Canceled
			}
			if a.connecting.Load() {
				err = fmt.Errorf("%w: %w", errConnecting, err)
			}
			return &errs.Error{Kind: errs.Unavailable, Code: "storage_unavailable",
				Message: "storage is busy; retry after the time in Retry-After", RetryAfter: poolBusyRetry,
				Err: fmt.Errorf("%w: %w", errConnWait, err)}
		}
		return err
	}
}

// acquired marks the wait of ctx's call as over.
func acquired(ctx context.Context) {
	if a, ok := ctx.Value(acquisitionKey{}).(*acquisition); ok {
		a.state.CompareAndSwap(waiting, given)
	}
}

// pqConn is what lib/pq's connection implements and database/sql uses.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
	driver.Validator
}

// watchedConn is lib/pq's connection, telling each call's wait that it has
// been given a connection.
type watchedConn struct{ pqConn }

func (c watchedConn) ResetSession(ctx context.Context) error {
	acquired(ctx)
	return c.pqConn.ResetSession(ctx)
}

func (c watchedConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	acquired(ctx)
	return c.pqConn.BeginTx(ctx, o)
}

func (c watchedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	acquired(ctx)
	return c.pqConn.PrepareContext(ctx, q)
}

func (c watchedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	acquired(ctx)
	return c.pqConn.ExecContext(ctx, q, args)
}

func (c watchedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	acquired(ctx)
	return c.pqConn.QueryContext(ctx, q, args)
}

func (c watchedConn) Ping(ctx context.Context) error {
	acquired(ctx)
	return c.pqConn.Ping(ctx)
}

// connector opens lib/pq connections wrapped in watchedConn.
type connector struct{ *pq.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if a, ok := ctx.Value(acquisitionKey{}).(*acquisition); ok {
		a.connecting.Store(true)
	}
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	acquired(ctx)
	if w, ok := cn.(pqConn); ok {
		return watchedConn{w}, nil
	}
	return cn, nil
}

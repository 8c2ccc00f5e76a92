// Package logging sets up zerolog and carries log fields in a context.
//
// Every request and every run gets a logger enriched with the fields that
// identify it (request_id, tenant_id, run_id, step, attempt); code further
// down fetches it with From(ctx) and never re-adds them. The request id also
// crosses Redis in asynq task headers (see Headers) so a run's worker lines
// share the id of the webhook that started it.
package logging

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// Options select the level and the output format.
type Options struct {
	Level   string // debug, info, warn, error
	Pretty  bool   // human-readable console output (dev)
	Service string // ingress, worker, scheduler, dev, cli
}

// New returns the root logger writing to w.
func New(w io.Writer, o Options) zerolog.Logger {
	if w == nil {
		w = os.Stdout
	}
	if o.Pretty {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	lvl, err := zerolog.ParseLevel(o.Level)
	if err != nil || o.Level == "" {
		lvl = zerolog.InfoLevel
	}
	l := zerolog.New(w).Level(lvl).With().Timestamp()
	if o.Service != "" {
		l = l.Str("service", o.Service)
	}
	return l.Logger()
}

// Nop is a logger that writes nothing (tests that do not inspect logs).
func Nop() zerolog.Logger { return zerolog.Nop() }

// From returns the logger stored in ctx, or a disabled logger.
func From(ctx context.Context) *zerolog.Logger { return zerolog.Ctx(ctx) }

// With stores l in ctx.
func With(ctx context.Context, l zerolog.Logger) context.Context { return l.WithContext(ctx) }

// AddStr returns ctx whose logger carries one more string field.
func AddStr(ctx context.Context, key, val string) context.Context {
	l := From(ctx).With().Str(key, val).Logger()
	return l.WithContext(ctx)
}

type requestIDKey struct{}

// WithRequestID stores the request id so it can travel in task headers.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// HeaderRequestID is the asynq task header that carries the request id.
const HeaderRequestID = "request_id"

// Headers returns the context to carry across the queue in task headers.
func Headers(ctx context.Context) map[string]string {
	h := map[string]string{}
	if id := RequestID(ctx); id != "" {
		h[HeaderRequestID] = id
	}
	return h
}

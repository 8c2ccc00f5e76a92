// Package worker is the asynq server that executes runs.
//
// It owns the queue-facing half of execution: decoding tasks, carrying the
// request id and run identity into every log line, recovering panics, and
// translating the executor's outcome into asynq's retry vocabulary. What a
// run does lives in internal/run.
package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/logging"
	"aias/internal/queue"
	"aias/internal/run"
	"aias/internal/step"
	"aias/internal/telemetry"
)

// Options configure a worker.
type Options struct {
	Redis           asynq.RedisConnOpt
	Concurrency     int
	ShutdownTimeout time.Duration // in-flight runs get this long to finish on SIGTERM
	Backoff         run.Backoff
	Log             zerolog.Logger
	Tracer          trace.TracerProvider // nil: tracing off (tracing.go)
}

// Worker executes runs from the queue.
type Worker struct {
	srv  *asynq.Server
	mux  *asynq.ServeMux
	exec *run.Executor
	log  zerolog.Logger
	// handlers counts the handlers running: asynq's Shutdown returns at
	// its timeout while canceled handlers still record what became of
	// their runs (an interrupted attempt given back), and the program
	// closes the pool after Run returns.
	handlers sync.WaitGroup
}

// handlerGrace is how long Run waits, after asynq's shutdown, for canceled
// handlers to finish their last writes.
const handlerGrace = 10 * time.Second

// New builds a worker around an executor.
func New(o Options, exec *run.Executor) *Worker {
	w := &Worker{exec: exec, log: o.Log}
	w.srv = asynq.NewServer(o.Redis, asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          queue.Weights,
		ShutdownTimeout: o.ShutdownTimeout,
		RetryDelayFunc:  retryDelay(o.Backoff),
		// A run waiting for a slot, its turn or its delay is not failing:
		// the task comes back without spending one of asynq's retries.
		IsFailure:       isFailure,
		Logger:          asynqLogger{o.Log},
		LogLevel:        asynq.WarnLevel,
		HealthCheckFunc: func(err error) { logHealth(o.Log, err) },
		// Poll often: a run enqueued while the worker idles starts within this.
		TaskCheckInterval: 100 * time.Millisecond,
		// Move due retries to pending every second rather than every five.
		DelayedTaskCheckInterval: time.Second,
	})
	w.mux = asynq.NewServeMux()
	w.mux.HandleFunc(queue.TypeRunExecute, traced(o.Tracer, w.counted(w.handleRunExecute)))
	w.mux.HandleFunc(queue.TypeRunNotify, traced(o.Tracer, w.counted(w.handleRunNotify)))
	return w
}

// Run serves until ctx is done, then stops fetching, lets in-flight runs
// finish for up to ShutdownTimeout and hands the rest back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.srv.Start(w.mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.log.Info().Msg("worker started")
	<-ctx.Done()
	w.log.Info().Msg("worker stopping: draining in-flight runs")
	w.srv.Stop()     // stop fetching new tasks
	w.srv.Shutdown() // wait for in-flight tasks up to ShutdownTimeout, then cancel them
	w.waitHandlers(handlerGrace)
	w.log.Info().Msg("worker stopped")
	return nil
}

// counted wraps a handler so that Run can wait for it.
func (w *Worker) counted(h func(context.Context, *asynq.Task) error) func(context.Context, *asynq.Task) error {
	return func(ctx context.Context, t *asynq.Task) error {
		w.handlers.Add(1)
		defer w.handlers.Done()
		return h(ctx, t)
	}
}

// waitHandlers waits up to d for the handlers still running.
func (w *Worker) waitHandlers(d time.Duration) {
	done := make(chan struct{})
	go func() { w.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		w.log.Warn().Msg("handlers still running at exit; the sweep reclaims their runs")
	}
}

func (w *Worker) handleRunExecute(ctx context.Context, t *asynq.Task) (err error) {
	p, err := queue.ParseRunExecute(t)
	if err != nil {
		w.log.Error().Err(err).Msg("dropping malformed task")
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ctx = w.runContext(ctx, t, p)
	telemetry.SpanString(ctx, "aias.run_id", p.RunID.String())
	telemetry.SpanString(ctx, "aias.tenant_id", p.TenantID.String())
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	lastChance := retried >= maxRetry
	defer func() {
		if v := recover(); v != nil {
			logging.From(ctx).Error().Interface("panic", v).Stack().Msg("run panicked")
			err = fmt.Errorf("run %s panicked: %v", p.RunID, v)
			if lastChance {
				err = w.exec.Bury(ctx, p.TenantID, p.RunID, "the worker panicked on every attempt")
			}
		}
		if errors.Is(err, run.ErrExhausted) {
			err = fmt.Errorf("%w: %w", err, asynq.SkipRetry) // archived: the dead-letter queue
		}
	}()
	task, _ := asynq.GetTaskID(ctx)
	return w.exec.Execute(ctx, p.TenantID, p.RunID, run.Attempt{LastChance: lastChance, TaskID: task})
}

func isFailure(err error) bool {
	var delayed *run.DelayError
	return !errors.Is(err, run.ErrBusy) && !errors.As(err, &delayed)
}

// retryDelay is when the task comes back: the time a delay step waits for;
// the wait the failed step's retry policy chose; for a busy tenant or a run
// waiting for its turn, a short jittered wait so it starts soon after; and
// otherwise (the run could not be advanced at all) the default backoff.
func retryDelay(b run.Backoff) asynq.RetryDelayFunc {
	busy := run.Backoff{Base: time.Second, Max: time.Second}
	return func(n int, err error, _ *asynq.Task) time.Duration {
		var (
			delayed *run.DelayError
			retry   *run.RetryError
		)
		switch {
		case errors.Is(err, run.ErrBusy):
			return busy.Delay(0)
		case errors.As(err, &delayed):
			// asynq schedules to the whole second, truncating: one more
			// second so the run never wakes before its time.
			return max(time.Until(delayed.Until), 0) + time.Second
		case errors.As(err, &retry):
			return retry.Wait
		}
		// A target that said when to come back (429/503 Retry-After) is
		// believed, if that is later than the backoff would retry. asynq
		// schedules retries to the whole second (truncating), hence the
		// extra second: never earlier than asked.
		if after, ok := step.RetryAfterOf(err); ok {
			return max(after+time.Second, b.Delay(n))
		}
		return b.Delay(n)
	}
}

// runContext gives the handler a logger carrying the run's identity, the
// request id of the webhook that started it and the trace id (tracing on).
func (w *Worker) runContext(ctx context.Context, t *asynq.Task, p queue.RunExecute) context.Context {
	lc := w.log.With().Str("run_id", p.RunID.String()).Str("tenant_id", p.TenantID.String())
	if id := t.Headers()[logging.HeaderRequestID]; id != "" {
		lc = lc.Str("request_id", id)
		ctx = logging.WithRequestID(ctx, id)
	}
	if tid := telemetry.TraceID(ctx); tid != "" {
		lc = lc.Str("trace_id", tid)
	}
	if tid, ok := asynq.GetTaskID(ctx); ok && tid != p.RunID.String() {
		lc = lc.Str("task_id", tid)
	}
	return logging.With(ctx, lc.Logger())
}

func logHealth(log zerolog.Logger, err error) {
	if err != nil {
		log.Warn().Err(err).Msg("redis unreachable; worker keeps retrying")
	}
}

package queue

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

// The no-op tasks of 'aias bench': the same asynq server settings as the
// worker, a handler that does nothing, on a queue of their own. They show
// what asynq alone costs on a machine, beside which AIAS's drain and memory
// figures are read.
const (
	TypeBenchNoop  = "bench:noop"
	QueueBenchNoop = "bench_noop"
)

// EnqueueNoop enqueues n no-op tasks.
func EnqueueNoop(ctx context.Context, opt asynq.RedisConnOpt, n int) error {
	c := asynq.NewClient(opt)
	defer func() { _ = c.Close() }()
	for i := range n {
		if _, err := c.EnqueueContext(ctx, asynq.NewTask(TypeBenchNoop, nil), asynq.Queue(QueueBenchNoop), asynq.MaxRetry(0)); err != nil {
			return fmt.Errorf("enqueue no-op task %d: %w", i, err)
		}
	}
	return nil
}

// NoopLeft is how many no-op tasks are pending or active.
func NoopLeft(opt asynq.RedisConnOpt) (int, error) {
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	info, err := in.GetQueueInfo(QueueBenchNoop)
	if err != nil {
		return 0, err
	}
	return info.Pending + info.Active + info.Scheduled + info.Retry, nil
}

// NoopStats is what a no-op worker did: how many tasks, first and last.
type NoopStats struct {
	Done        int
	First, Last time.Time
}

// ServeNoop runs a no-op asynq server until ctx is done and says what it did.
func ServeNoop(ctx context.Context, opt asynq.RedisConnOpt, concurrency int) (NoopStats, error) {
	var (
		mu sync.Mutex
		st NoopStats
	)
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: concurrency, Queues: map[string]int{QueueBenchNoop: 1},
		LogLevel: asynq.ErrorLevel, TaskCheckInterval: 100 * time.Millisecond,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeBenchNoop, func(context.Context, *asynq.Task) error {
		now := time.Now()
		mu.Lock()
		if st.Done == 0 {
			st.First = now
		}
		st.Done++
		st.Last = now
		mu.Unlock()
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return st, err
	}
	<-ctx.Done()
	srv.Shutdown()
	mu.Lock()
	defer mu.Unlock()
	return st, nil
}

// SetPaused pauses (or resumes) every queue the workers serve: 'aias bench'
// stores a backlog while its warmed workers wait, then lets them all start
// on it at once. Pausing a paused queue, or resuming a running one, is not
// an error.
func SetPaused(opt asynq.RedisConnOpt, paused bool) error {
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	for name := range Weights {
		var err error
		if paused {
			err = in.PauseQueue(name)
		} else {
			err = in.UnpauseQueue(name)
		}
		// asynq says "already paused" and "is not paused": the state wanted.
		if err != nil && !strings.Contains(err.Error(), "already paused") && !strings.Contains(err.Error(), "not paused") {
			return fmt.Errorf("pause queue %s: %w", name, err)
		}
	}
	return nil
}

// ActiveTasks is how many tasks of the workers' queues are being handled: 0
// once every handler has returned (a run's slot is released by then).
func ActiveTasks(opt asynq.RedisConnOpt) (int, error) {
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	n := 0
	for name := range Weights {
		info, err := in.GetQueueInfo(name)
		if err != nil {
			continue // a queue nothing was enqueued to does not exist
		}
		n += info.Active
	}
	return n, nil
}

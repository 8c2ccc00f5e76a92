package queue_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"aias/internal/queue"
)

// The bench pauses every worker queue while it stores a backlog, then
// resumes them; doing either twice is not an error.
func TestSetPausedPausesAndResumesEveryQueue(t *testing.T) {
	t.Parallel()
	c, opt := newClient(t)
	if err := c.EnqueueRun(context.Background(), uuid.New(), uuid.New(), 1); err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	paused := func() map[string]bool {
		out := map[string]bool{}
		for name := range queue.Weights {
			info, err := in.GetQueueInfo(name)
			out[name] = err == nil && info.Paused
		}
		return out
	}
	for _, want := range []bool{true, true, false, false} {
		if err := queue.SetPaused(opt, want); err != nil {
			t.Fatalf("SetPaused(%v): %v", want, err)
		}
		for name, got := range paused() {
			if name == queue.QueueDefault && got != want { // the queue the run went to exists
				t.Errorf("queue %s paused = %v, want %v", name, got, want)
			}
		}
	}
}

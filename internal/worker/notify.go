package worker

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"aias/internal/logging"
	"aias/internal/queue"
	"aias/internal/telemetry"
)

// handleRunNotify delivers a finished run's on_finish notification (one
// attempt per delivery of the task). The attempt budget is on the run row;
// on asynq's last retry a failure is recorded as final, so no notification
// stays pending behind an archived task.
func (w *Worker) handleRunNotify(ctx context.Context, t *asynq.Task) (err error) {
	p, err := queue.ParseRunNotify(t)
	if err != nil {
		w.log.Error().Err(err).Msg("dropping malformed task")
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ctx = w.runContext(ctx, t, queue.RunExecute(p))
	telemetry.SpanString(ctx, "aias.run_id", p.RunID.String())
	telemetry.SpanString(ctx, "aias.tenant_id", p.TenantID.String())
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	defer func() {
		if v := recover(); v != nil {
			logging.From(ctx).Error().Interface("panic", v).Stack().Msg("on_finish notification panicked")
			err = fmt.Errorf("notification of run %s panicked: %v", p.RunID, v)
		}
	}()
	return w.exec.Notify(ctx, p.TenantID, p.RunID, retried >= maxRetry)
}

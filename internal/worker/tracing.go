package worker

import (
	"context"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/telemetry"
)

// traced wraps a task handler in a consumer span whose parent is the trace
// context the task carries (the intake's enqueue); a task without one (the
// sweep's) starts a trace of its own. For run:execute the executor adds the
// run's attempt (aias.attempt) and a span per step below it; run:notify's
// parent is the run:execute span that finished the run, and its outbound
// POST is a client span below it. tp nil: tracing off, next runs as it is.
func traced(tp trace.TracerProvider, next asynq.HandlerFunc) asynq.HandlerFunc {
	if tp == nil {
		return next
	}
	tracer := tp.Tracer(telemetry.TracerName)
	return func(ctx context.Context, t *asynq.Task) error {
		ctx = telemetry.ExtractTrace(ctx, t.Headers())
		ctx, span := tracer.Start(ctx, t.Type(), trace.WithSpanKind(trace.SpanKindConsumer))
		if span.IsRecording() {
			span.SetAttributes(taskAttributes(ctx)...)
		}
		err := next(ctx, t)
		if err != nil && !isFailure(err) {
			// Waiting (a busy tenant, a delay step) is not an error.
			span.SetAttributes(attribute.String("aias.run.outcome", "waiting"))
			span.End()
			return err
		}
		telemetry.EndSpan(span, err)
		return err
	}
}

// taskAttributes identify the delivery: queue, task id, retries so far.
// Never the payload; the handler adds the run and its tenant once it has
// decoded them.
func taskAttributes(ctx context.Context) []attribute.KeyValue {
	attrs := []attribute.KeyValue{semconv.MessagingOperationTypeProcess}
	if q, ok := asynq.GetQueueName(ctx); ok {
		attrs = append(attrs, semconv.MessagingDestinationName(q))
	}
	if id, ok := asynq.GetTaskID(ctx); ok {
		attrs = append(attrs, semconv.MessagingMessageID(id))
	}
	if n, ok := asynq.GetRetryCount(ctx); ok {
		attrs = append(attrs, attribute.Int("aias.task.retried", n))
	}
	return attrs
}

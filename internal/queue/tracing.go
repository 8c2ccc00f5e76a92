package queue

import (
	"context"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/telemetry"
)

// startEnqueue starts the producer span of a run's enqueue, a child of
// ctx's span (the intake's request); NewRunExecute then injects this span's
// context into the task. Without an active span (the sweep, the cron
// ticker, tracing off) it is a no-op span and the task carries no trace
// context.
func startEnqueue(ctx context.Context, runID uuid.UUID) (context.Context, trace.Span) {
	ctx, span := telemetry.ChildTracer(ctx).Start(ctx, "enqueue "+TypeRunExecute, trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		span.SetAttributes(
			semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(QueueDefault),
			semconv.MessagingMessageID(runID.String()),
			attribute.String("aias.run_id", runID.String()))
	}
	return ctx, span
}

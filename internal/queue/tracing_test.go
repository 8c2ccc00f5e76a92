package queue_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"aias/internal/logging"
	"aias/internal/queue"
)

// With no span active (tracing off, the sweep) a task carries exactly the
// headers it carried before tracing existed.
func TestNewRunExecuteWithoutSpanAddsNoHeaders(t *testing.T) {
	t.Parallel()
	ctx := logging.WithRequestID(context.Background(), "req-1")
	task, err := queue.NewRunExecute(ctx, queue.RunExecute{TenantID: uuid.New(), RunID: uuid.New()}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{logging.HeaderRequestID: "req-1"}, task.Headers()); diff != "" {
		t.Errorf("NewRunExecute headers without a span (-want +got):\n%s", diff)
	}
}

func TestNewRunExecuteCarriesTheActiveSpan(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	ctx, span := tp.Tracer("test").Start(logging.WithRequestID(context.Background(), "req-2"), "intake")
	defer span.End()
	task, err := queue.NewRunExecute(ctx, queue.RunExecute{TenantID: uuid.New(), RunID: uuid.New()}, 3)
	if err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext()
	want := map[string]string{
		logging.HeaderRequestID: "req-2",
		"traceparent":           fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID()),
	}
	if diff := cmp.Diff(want, task.Headers()); diff != "" {
		t.Errorf("NewRunExecute headers with a span (-want +got):\n%s", diff)
	}
}

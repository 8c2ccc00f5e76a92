package telemetry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/safehttp"
	"aias/internal/telemetry"
)

func TestStartTracingNoneIsOff(t *testing.T) {
	t.Parallel()
	for _, exporter := range []string{"", telemetry.ExporterNone} {
		tr, err := telemetry.StartTracing(context.Background(), exporter, "aias-test")
		if err != nil || tr.Enabled() || tr.Provider != nil {
			t.Errorf("StartTracing(%q) = %+v, %v, want tracing off", exporter, tr, err)
		}
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown of tracing off = %v, want nil", err)
		}
	}
}

func TestStartTracingBuildsEachExporter(t *testing.T) {
	t.Parallel()
	// The OTLP exporters connect lazily: building them needs no collector.
	for _, exporter := range []string{telemetry.ExporterStdout, telemetry.ExporterOTLPHTTP, telemetry.ExporterOTLPGRPC} {
		tr, err := telemetry.StartTracing(context.Background(), exporter, "aias-test")
		if err != nil || !tr.Enabled() {
			t.Fatalf("StartTracing(%q) = %+v, %v, want tracing on", exporter, tr, err)
		}
		if err := tr.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown(%q) with no span = %v, want nil", exporter, err)
		}
	}
	if _, err := telemetry.StartTracing(context.Background(), "zipkin", "aias-test"); err == nil {
		t.Error(`StartTracing("zipkin") error = nil, want unknown exporter`)
	}
}

func TestTraceClientOffReturnsTheClient(t *testing.T) {
	t.Parallel()
	c := safehttp.NewClient(safehttp.Policy{})
	if got := telemetry.TraceClient(c, nil); got != c {
		t.Error("TraceClient(c, nil) is not c")
	}
}

func TestTraceClientKeepsTheEgressGuard(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c := telemetry.TraceClient(safehttp.NewClient(safehttp.Policy{}), tp) // loopback not allowed
	req, _ := http.NewRequestWithContext(context.Background(), "GET", target.URL, nil)
	res, err := c.Do(req)
	if err == nil {
		_ = res.Body.Close()
	}
	var refusal *safehttp.Refusal
	if !errors.As(err, &refusal) || hits.Load() != 0 {
		t.Fatalf("traced GET %s = %v (%d hits), want a safehttp refusal and no hit", target.URL, err, hits.Load())
	}
	if spans := rec.Ended(); len(spans) != 1 || spans[0].Status().Code.String() != "Error" {
		t.Errorf("spans = %v, want one client span with an error", spans)
	}
}

func TestTraceClientSendsTraceparentAndHidesTheURL(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	target := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got <- r.Header.Get("traceparent") }))
	defer target.Close()
	allow, err := safehttp.ParseAllow("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "step http")
	c := telemetry.TraceClient(safehttp.NewClient(safehttp.Policy{Allow: allow}), tp)
	req, _ := http.NewRequestWithContext(ctx, "GET", target.URL+"/hooks/T0/B0/secret?token=secret", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	parent.End()
	var client trace.SpanContext
	for _, sp := range rec.Ended() {
		if sp.SpanKind() != trace.SpanKindClient {
			continue
		}
		client = sp.SpanContext()
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("client span's parent = %s, want %s", sp.Parent().SpanID(), parent.SpanContext().SpanID())
		}
		for _, kv := range sp.Attributes() {
			if strings.Contains(kv.Value.String(), "secret") {
				t.Errorf("client span attribute %s = %q holds the URL's path or query", kv.Key, kv.Value.String())
			}
		}
	}
	want := "00-" + client.TraceID().String() + "-" + client.SpanID().String() + "-01"
	if tp := <-got; tp != want {
		t.Errorf("target's traceparent = %q, want %q", tp, want)
	}
}

// collector is a fake OTLP/HTTP collector that keeps the bodies of the
// trace exports it receives.
type collector struct {
	srv    *httptest.Server
	bodies chan []byte
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{bodies: make(chan []byte, 16)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			c.bodies <- b
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// Not parallel: the SDK reads OTEL_* from the process environment.
func TestOTLPHTTPExportsOnShutdownWithTheSDKsVariables(t *testing.T) {
	c := newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", c.srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "aias-from-env")
	tr, err := telemetry.StartTracing(context.Background(), telemetry.ExporterOTLPHTTP, "aias-default")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "exported-span")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v, want the batch flushed", err)
	}
	select {
	case b := <-c.bodies:
		for _, want := range []string{"exported-span", "aias-from-env"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("export lacks %q", want)
			}
		}
		if strings.Contains(string(b), "aias-default") {
			t.Error("OTEL_SERVICE_NAME did not override the default service name")
		}
	default:
		t.Fatal("the collector received nothing by the end of Shutdown")
	}
}

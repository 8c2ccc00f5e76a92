package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/app"
)

// headerTarget is an http step's target that keeps the traceparent header
// of each request it gets.
type headerTarget struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string // traceparent of each request, "" when absent
}

func newHeaderTarget(t *testing.T) *headerTarget {
	t.Helper()
	h := &headerTarget{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.got = append(h.got, r.Header.Get("traceparent"))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *headerTarget) traceparents() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

// tracedWorkflow has a step before the outbound call and the call itself,
// whose URL holds a path and a query that must not reach any span.
const tracedWorkflow = `
name: traced
steps:
  - { name: shape, type: transform, with: { output: { id: "trigger.body.id" } } }
  - { name: notify, type: http, with: { method: POST, url: "%s/hooks/secret-path?api_key=secret-query", body: "steps.shape.output" } }
`

func TestOneTraceFromIntakeThroughTheQueueToTheOutboundCall(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := start(t, options{configure: func(a *app.App) { a.Tracer = tp }})
	target := newHeaderTarget(t)
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(tracedWorkflow, target.srv.URL)))
	r := s.do("POST", url, "", "application/json", `{"id":"T-1"}`)
	if r.Status != 202 {
		t.Fatalf("POST intake = %d %s, want 202", r.Status, r.Body)
	}
	var acc struct {
		RunID string `json:"run_id"`
	}
	r.json(t, &acc)
	s.waitRun(acme.Key, acc.RunID, "succeeded")

	server := waitSpan(t, rec, func(sp sdktrace.ReadOnlySpan) bool {
		return sp.Name() == "POST /api/webhooks/:tenant_id/:token" && attr(sp, "aias.request_id") == r.Header.Get("X-Request-ID")
	})
	tid := server.SpanContext().TraceID()
	inTrace := func(name string) sdktrace.ReadOnlySpan {
		return waitSpan(t, rec, func(sp sdktrace.ReadOnlySpan) bool { return sp.SpanContext().TraceID() == tid && sp.Name() == name })
	}
	enqueue := inTrace("enqueue run:execute")
	consumer := inTrace("run:execute")
	shape := inTrace("step transform")
	notify := inTrace("step http")
	call := inTrace("HTTP POST")

	for _, c := range []struct {
		child, parent sdktrace.ReadOnlySpan
		kind          trace.SpanKind
	}{
		{server, nil, trace.SpanKindServer},
		{enqueue, server, trace.SpanKindProducer},
		{consumer, enqueue, trace.SpanKindConsumer},
		{shape, consumer, trace.SpanKindInternal},
		{notify, consumer, trace.SpanKindInternal},
		{call, notify, trace.SpanKindClient},
	} {
		want := trace.SpanID{}
		if c.parent != nil {
			want = c.parent.SpanContext().SpanID()
		}
		if got := c.child.Parent().SpanID(); got != want {
			t.Errorf("parent of %q = %s, want %s", c.child.Name(), got, want)
		}
		if c.child.SpanKind() != c.kind {
			t.Errorf("kind of %q = %s, want %s", c.child.Name(), c.child.SpanKind(), c.kind)
		}
	}
	for span, want := range map[sdktrace.ReadOnlySpan]map[string]string{
		server:   {"http.route": "/api/webhooks/:tenant_id/:token", "http.response.status_code": "202"},
		enqueue:  {"aias.run_id": acc.RunID},
		consumer: {"aias.run_id": acc.RunID, "aias.tenant_id": acme.ID, "aias.attempt": "1"},
		shape:    {"aias.step.name": "shape", "aias.step.type": "transform", "aias.step.outcome": "succeeded"},
		notify:   {"aias.step.name": "notify", "aias.step.type": "http", "aias.step.outcome": "succeeded"},
		call:     {"url.full": target.srv.URL, "http.response.status_code": "200"},
	} {
		for k, v := range want {
			if got := attr(span, k); got != v {
				t.Errorf("%s of %q = %q, want %q", k, span.Name(), got, v)
			}
		}
	}

	// The target got the client span's context, in the same trace.
	wantParent := fmt.Sprintf("00-%s-%s-01", tid, call.SpanContext().SpanID())
	if got := target.traceparents(); len(got) != 1 || got[0] != wantParent {
		t.Errorf("target's traceparent = %q, want [%q]", got, wantParent)
	}
	// The worker's lines of the run name the trace.
	if !strings.Contains(s.logs.String(), `"trace_id":"`+tid.String()+`"`) {
		t.Errorf("no worker log line carries trace_id %s", tid)
	}
	// Nothing secret in any span: the intake token, the target's path and query.
	token := url[strings.LastIndex(url, "/")+1:]
	for _, sp := range rec.Ended() {
		for _, kv := range sp.Attributes() {
			v := kv.Value.String()
			for _, secret := range []string{token, "secret-path", "secret-query"} {
				if strings.Contains(v, secret) {
					t.Errorf("span %q attribute %s = %q holds a secret", sp.Name(), kv.Key, v)
				}
			}
		}
	}
}

func TestTracingOffSendsNoTraceContext(t *testing.T) {
	t.Parallel()
	s := start(t, options{}) // AIAS_OTEL_EXPORTER unset: none
	if s.app.Tracer != nil {
		t.Fatalf("app.Tracer = %v with tracing off, want nil", s.app.Tracer)
	}
	target := newHeaderTarget(t)
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(tracedWorkflow, target.srv.URL)))
	status, id := s.post(url, `{"id":"T-2"}`)
	if status != 202 {
		t.Fatalf("POST intake = %d, want 202", status)
	}
	s.waitRun(acme.Key, id, "succeeded")
	if got := target.traceparents(); len(got) != 1 || got[0] != "" {
		t.Errorf("target's traceparent = %q, want one request without it", got)
	}
	if strings.Contains(s.logs.String(), `"trace_id"`) {
		t.Error("a log line carries trace_id with tracing off")
	}
}

// Not parallel: the SDK reads OTEL_EXPORTER_OTLP_ENDPOINT from the process
// environment. The batch processor exports every 5s; the spans reach the
// collector within the test only because stopping the program flushes them.
func TestOTLPExporterFromConfigurationFlushesOnStop(t *testing.T) {
	exports := make(chan []byte, 64)
	collector := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		exports <- b
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	s := start(t, options{env: map[string]string{"AIAS_OTEL_EXPORTER": "otlp-http"}})
	acme := s.signup("acme")
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(tracedWorkflow, newHeaderTarget(t).srv.URL)))
	status, id := s.post(url, `{"id":"T-3"}`)
	if status != 202 {
		t.Fatalf("POST intake = %d, want 202", status)
	}
	s.waitRun(acme.Key, id, "succeeded")
	s.stop()
	var all strings.Builder
	for len(exports) > 0 {
		all.Write(<-exports)
	}
	for _, want := range []string{"POST /api/webhooks/:tenant_id/:token", "enqueue run:execute", "run:execute", "step http", "HTTP POST", id} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("the collector got no %q by the time the program stopped", want)
		}
	}
}

// waitSpan polls the recorder for an ended span that match accepts: the
// worker ends its span after the run's status is committed.
func waitSpan(t *testing.T, rec *tracetest.SpanRecorder, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, sp := range rec.Ended() {
			if match(sp) {
				return sp
			}
		}
		if time.Now().After(deadline) {
			var names []string
			for _, sp := range rec.Ended() {
				names = append(names, sp.Name())
			}
			t.Fatalf("no such span among %q", names)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func attr(sp sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// The on_finish notification is a task of its own; its span and its
// outbound POST belong to the trace of the run that finished.
func TestTheOnFinishNotificationJoinsTheRunsTrace(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := start(t, options{configure: func(a *app.App) { a.Tracer = tp }})
	target := newHeaderTarget(t)
	acme := s.signup("acme")
	s.rotateCallbackSecret(acme.Key)
	url := s.createEndpoint(acme.Key, s.createWorkflow(acme.Key, fmt.Sprintf(`
name: traced-notice
on_finish: { url: "%s/finish" }
steps: [ { name: a, type: transform, with: { output: "1" } } ]
`, target.srv.URL)))
	_, id := s.post(url, `{}`)
	s.waitRun(acme.Key, id, "succeeded")

	named := func(name string) sdktrace.ReadOnlySpan {
		return waitSpan(t, rec, func(sp sdktrace.ReadOnlySpan) bool { return sp.Name() == name && attr(sp, "aias.run_id") == id })
	}
	execute, notify := named("run:execute"), named("run:notify")
	call := waitSpan(t, rec, func(sp sdktrace.ReadOnlySpan) bool {
		return sp.Name() == "HTTP POST" && sp.Parent().SpanID() == notify.SpanContext().SpanID()
	})
	tid := execute.SpanContext().TraceID()
	if notify.SpanContext().TraceID() != tid || notify.Parent().SpanID() != execute.SpanContext().SpanID() || notify.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("run:notify: trace %s parent %s kind %s; want trace %s, parent run:execute %s, consumer",
			notify.SpanContext().TraceID(), notify.Parent().SpanID(), notify.SpanKind(), tid, execute.SpanContext().SpanID())
	}
	if got := attr(notify, "aias.tenant_id"); got != acme.ID {
		t.Errorf("aias.tenant_id of run:notify = %q, want %s", got, acme.ID)
	}
	wantParent := fmt.Sprintf("00-%s-%s-01", tid, call.SpanContext().SpanID())
	if got := target.traceparents(); len(got) != 1 || got[0] != wantParent {
		t.Errorf("receiver's traceparent = %q, want [%q]", got, wantParent)
	}
}

package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is OpenTelemetry, off unless AIAS_OTEL_EXPORTER names an exporter.
//
// One trace follows a webhook: the intake's server span, the enqueue's
// producer span (whose W3C trace context rides in the task's headers), the
// worker's consumer span, one span per step and a client span per outbound
// call of an http step (which sends traceparent to the target).
//
// The provider is never installed globally: the ingress and the worker are
// handed it, and everything below them starts its spans with the provider
// of the span already in the context. With tracing off no span is active,
// so those become the global no-op tracer's spans, and the ingress and the
// worker start none at all.
//
// Attributes are identifiers (run, tenant, request id, step name and type,
// route patterns, status codes), never secrets, header values or bodies;
// an outbound call's url.full is cut to its origin, because a target's
// path and query may carry a token.

// TracerName is the instrumentation scope of AIAS's own spans.
const TracerName = "aias"

// The values of AIAS_OTEL_EXPORTER.
const (
	ExporterNone     = "none"
	ExporterOTLPHTTP = "otlp-http"
	ExporterOTLPGRPC = "otlp-grpc"
	ExporterStdout   = "stdout"
)

// Exporters are the values AIAS_OTEL_EXPORTER accepts, for config to check.
var Exporters = []string{ExporterNone, ExporterOTLPHTTP, ExporterOTLPGRPC, ExporterStdout}

// Tracing is a process's tracer provider and the way to flush it.
type Tracing struct {
	// Provider is nil when tracing is off.
	Provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider
}

// StartTracing builds the tracer provider of one program for exporter
// ("none" or "": tracing off, nothing is built). service is the default
// service.name; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it.
// The SDK reads the sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG;
// default: parent-based, always on), the batch processor's OTEL_BSP_* and
// the OTLP exporters' OTEL_EXPORTER_OTLP_* variables (endpoint, headers,
// timeout, compression, certificates) from the environment itself.
func StartTracing(ctx context.Context, exporter, service string) (*Tracing, error) {
	if exporter == "" || exporter == ExporterNone {
		return &Tracing{}, nil
	}
	exp, err := newExporter(ctx, exporter)
	if err != nil {
		return nil, err
	}
	res, err := sdkresource.New(ctx,
		sdkresource.WithAttributes(semconv.ServiceName(service)),
		sdkresource.WithFromEnv(), // later detectors win: OTEL_SERVICE_NAME overrides the default
		sdkresource.WithTelemetrySDK())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, sdk: tp}, nil
}

func newExporter(ctx context.Context, name string) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch name {
	case ExporterOTLPHTTP:
		exp, err = otlptracehttp.New(ctx)
	case ExporterOTLPGRPC:
		exp, err = otlptracegrpc.New(ctx)
	case ExporterStdout:
		// stderr: stdout carries the JSON log lines.
		exp, err = stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	default:
		return nil, fmt.Errorf("AIAS_OTEL_EXPORTER: unknown exporter %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s trace exporter: %w", name, err)
	}
	return exp, nil
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.Provider != nil }

// Shutdown exports the spans still buffered and stops the exporter, within
// ctx's deadline. Tracing off: nothing to do.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// propagator carries the W3C trace context only: baggage would carry
// whatever a caller put in it to every target.
var propagator = propagation.TraceContext{}

// InjectTrace adds the trace context of ctx's span (traceparent, and
// tracestate when set) to the task headers h and returns h. Without an
// active span it adds nothing.
func InjectTrace(ctx context.Context, h map[string]string) map[string]string {
	if trace.SpanContextFromContext(ctx).IsValid() {
		propagator.Inject(ctx, propagation.MapCarrier(h))
	}
	return h
}

// ExtractTrace returns ctx with the remote parent that the task headers h
// carry, if any.
func ExtractTrace(ctx context.Context, h map[string]string) context.Context {
	return propagator.Extract(ctx, propagation.MapCarrier(h))
}

// RemoteSpan is the trace context an incoming HTTP request claims (invalid
// when it claims none).
func RemoteSpan(h http.Header) trace.SpanContext {
	return trace.SpanContextFromContext(propagator.Extract(context.Background(), propagation.HeaderCarrier(h)))
}

// ChildTracer is the tracer of the provider behind ctx's span: the global
// no-op tracer when no span is active, so a child costs a no-op span.
func ChildTracer(ctx context.Context) trace.Tracer {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(TracerName)
}

// EndSpan records err (if any) as the span's error and ends it.
func EndSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// SpanInt sets an integer attribute on ctx's span, if it records.
func SpanInt(ctx context.Context, key string, v int) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.Int(key, v))
	}
}

// SpanString sets a string attribute on ctx's span, if it records.
func SpanString(ctx context.Context, key, v string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String(key, v))
	}
}

// TraceID is the id of ctx's trace, or "" when no span is active.
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// StartStep starts the span of one step attempt, a child of ctx's span.
func StartStep(ctx context.Context, name, typ string) (context.Context, trace.Span) {
	ctx, span := ChildTracer(ctx).Start(ctx, "step "+typ)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("aias.step.name", name), attribute.String("aias.step.type", typ))
	}
	return ctx, span
}

// EndStep ends a step's span with its outcome (succeeded, failed,
// retryable: the labels of aias_step_duration_seconds) and error.
func EndStep(span trace.Span, outcome string, err error) {
	if span.IsRecording() {
		span.SetAttributes(attribute.String("aias.step.outcome", outcome))
	}
	EndSpan(span, err)
}

// TraceClient returns c with a client span around each request and the
// trace context sent in traceparent; c itself when tp is nil (tracing
// off). The span wraps c's transport, so the egress guard of
// internal/safehttp still dials every connection.
func TraceClient(c *http.Client, tp trace.TracerProvider) *http.Client {
	if c == nil || tp == nil {
		return c
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	traced := *c
	traced.Transport = otelhttp.NewTransport(originOnly{base},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
	return &traced
}

// originOnly runs inside otelhttp's span and replaces the url.full it
// recorded with the URL's origin: the path and the query of a target may
// hold a token (a Slack webhook URL, an api_key parameter).
type originOnly struct{ next http.RoundTripper }

func (o originOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(semconv.URLFull(r.URL.Scheme + "://" + r.URL.Host))
	}
	return o.next.RoundTrip(r)
}

// LogTraceErrors sends the SDK's own errors (an unreachable collector, say)
// to logf instead of the standard logger. It is process-wide.
func LogTraceErrors(logf func(error)) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(logf))
}

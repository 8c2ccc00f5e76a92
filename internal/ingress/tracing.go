package ingress

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"aias/internal/telemetry"
)

// traceRequests starts the server span of each request, named by method
// and route pattern ("POST /api/webhooks/:tenant/:token"), never the raw
// path: intake URLs carry a secret token. Senders are outside parties, so
// a traceparent they send does not become the parent (it could force
// sampling, or graft our spans onto their trace); it is kept as a link.
// tp nil: tracing off, no span at all.
func traceRequests(tp trace.TracerProvider) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if tp == nil {
			return next
		}
		tracer := tp.Tracer(telemetry.TracerName)
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			opts := []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithNewRoot(),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.HTTPRoute(route)),
			}
			if remote := telemetry.RemoteSpan(req.Header); remote.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}))
			}
			ctx, span := tracer.Start(req.Context(), req.Method+" "+route, opts...)
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			status := c.Response().Status
			span.SetAttributes(semconv.HTTPResponseStatusCode(status),
				attribute.String("aias.request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			if status >= http.StatusInternalServerError {
				// 4xx are the client's, not this server's, errors.
				if err != nil {
					span.RecordError(err)
				}
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return err
		}
	}
}

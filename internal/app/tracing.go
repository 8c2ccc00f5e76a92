package app

import (
	"context"
	"fmt"
	"time"

	"aias/internal/config"
	"aias/internal/telemetry"
)

// flushTimeout bounds exporting the last spans when a program stops.
const flushTimeout = 5 * time.Second

// startTracing builds the tracer provider of AIAS_OTEL_EXPORTER for role,
// named after its program, unless a.Tracer is already set (a test's
// recorder). The returned func flushes the spans still buffered; Serve
// calls it once every service has stopped.
func (a *App) startTracing(ctx context.Context, role config.Role) (func(), error) {
	if a.Tracer != nil {
		return func() {}, nil
	}
	t, err := telemetry.StartTracing(ctx, a.Cfg.OTelExporter, serviceName(role))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if !t.Enabled() {
		return func() {}, nil
	}
	telemetry.LogTraceErrors(func(err error) { a.Log.Warn().Err(err).Msg("tracing: OpenTelemetry error") })
	a.Tracer = t.Provider
	a.Log.Info().Str("exporter", a.Cfg.OTelExporter).Str("service", serviceName(role)).Msg("tracing on")
	return func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		defer cancel()
		if err := t.Shutdown(fctx); err != nil {
			a.Log.Warn().Err(err).Msg("tracing: last spans lost")
		}
	}, nil
}

// serviceName is the default service.name of a program's spans
// (OTEL_SERVICE_NAME overrides it); aias dev serves every role as "aias".
func serviceName(role config.Role) string {
	switch role {
	case config.RoleIngress:
		return "aias-ingress"
	case config.RoleWorker:
		return "aias-worker"
	case config.RoleScheduler:
		return "aias-scheduler"
	}
	return "aias"
}

package config_test

import (
	"strings"
	"testing"

	"aias/internal/config"
)

func TestOTelExporterTakesOnlyKnownExporters(t *testing.T) {
	t.Parallel()
	for _, exporter := range []string{"none", "otlp-http", "otlp-grpc", "stdout"} {
		got, err := config.Load(getenv(with(valid(), "AIAS_OTEL_EXPORTER", exporter)), config.RoleWorker)
		if err != nil || got.OTelExporter != exporter {
			t.Errorf("Load(AIAS_OTEL_EXPORTER=%s) = %q, %v, want it accepted", exporter, got.OTelExporter, err)
		}
	}
	_, err := config.Load(getenv(with(valid(), "AIAS_OTEL_EXPORTER", "jaeger")), config.RoleIngress)
	if err == nil || !strings.Contains(err.Error(), "AIAS_OTEL_EXPORTER must be one of none, otlp-http, otlp-grpc, stdout") {
		t.Errorf("Load(AIAS_OTEL_EXPORTER=jaeger) error = %v, want it refused", err)
	}
}

// Package telemetry holds AIAS's Prometheus metrics. Every program exposes
// them at /metrics; names are stable (dashboards and alerts in deploy/ use them).
package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry with AIAS's collectors.
type Metrics struct {
	Registry        *prometheus.Registry
	HTTPRequests    *prometheus.CounterVec
	HTTPDuration    *prometheus.HistogramVec
	IntakeOutcomes  *prometheus.CounterVec
	RunsFinished    *prometheus.CounterVec
	StepDuration    *prometheus.HistogramVec
	SweepReenqueued prometheus.Counter
}

// New registers every collector on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aias_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aias_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		IntakeOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aias_intake_total", Help: "Webhook deliveries by outcome (accepted, duplicate, rejected_*).",
		}, []string{"outcome"}),
		RunsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aias_runs_finished_total", Help: "Runs that reached a terminal status.",
		}, []string{"status"}),
		StepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aias_step_duration_seconds", Help: "Step execution time by type and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"type", "outcome"}),
		SweepReenqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aias_sweep_enqueued_total", Help: "Runs the sweep found missing from the queue and enqueued.",
		}),
	}
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.IntakeOutcomes, m.RunsFinished, m.StepDuration,
		m.SweepReenqueued, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Package telemetry holds what AIAS tells operators about itself, apart
// from logs: the Prometheus metrics every program exposes at /metrics
// (metrics.go; the pools of Postgres and Redis and the reachability of
// dependencies in pools.go), and OpenTelemetry tracing — the tracer
// provider AIAS_OTEL_EXPORTER selects, the W3C trace context carried in
// task headers, and the span helpers of the intake, the worker and its
// steps (tracing.go). Metric names are stable: dashboards and alerts in
// deploy/ use them, and a test proves each one they use is exported.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"time"

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
	RunEndToEnd     *prometheus.HistogramVec
	StepDuration    *prometheus.HistogramVec
	SweepReenqueued prometheus.Counter
	Sweeps          *prometheus.CounterVec
	SweepItems      *prometheus.CounterVec
	SweepLastOK     *prometheus.GaugeVec
	ScheduleTicks   *prometheus.CounterVec
	SchedulerLeader prometheus.Gauge
	RunsStarted     prometheus.Counter
	EnqueueDuration *prometheus.HistogramVec
	IntakeCommits   *prometheus.HistogramVec
}

// The scheduler's sweeps, as the sweep label names them.
const (
	SweepRequeue   = "requeue"   // queued or stalled runs missing from the queue
	SweepHeld      = "held"      // held runs released when quota allows
	SweepRetention = "retention" // finished runs past their plan's retention deleted
	SweepGrace     = "grace"     // tenants whose payment grace ended moved to the default plan
	SweepUsage     = "usage"     // monthly run counters in Redis that drifted from Postgres dropped
	SweepReclaim   = "reclaim"   // running runs whose worker stopped given a new task
)

// Sweeps lists every sweep name; their series exist from the start, so an
// alert on a sweep that never succeeded has a series to look at.
var SweepNames = []string{SweepRequeue, SweepHeld, SweepRetention, SweepGrace, SweepUsage, SweepReclaim}

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
			Name: "aias_intake_total", Help: "Webhook deliveries by outcome (accepted, duplicate, held, rejected_*).",
		}, []string{"outcome"}),
		RunsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aias_runs_finished_total", Help: "Runs that reached a terminal status.",
		}, []string{"status"}),
		RunEndToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aias_run_end_to_end_duration_seconds",
			Help: "Time from the intake of a run's trigger (runs.received_at) to its terminal status, by status.",
			// retries and held runs stretch a run to minutes or hours
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400},
		}, []string{"status"}),
		StepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aias_step_duration_seconds", Help: "Step execution time by type and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"type", "outcome"}),
		SweepReenqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aias_sweep_enqueued_total", Help: "Runs the sweep found missing from the queue and enqueued.",
		}),
		Sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aias_sweeps_total", Help: "Scheduler sweep passes by sweep and outcome (ok, error).",
		}, []string{"sweep", "outcome"}),
		SweepItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aias_sweep_items_total",
			Help: "What the sweeps acted on: runs enqueued or revived (requeue), runs released (held), runs deleted (retention), tenants downgraded (grace).",
		}, []string{"sweep"}),
		SweepLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aias_sweep_last_success_timestamp_seconds", Help: "Unix time of each sweep's last successful pass (0: none yet).",
		}, []string{"sweep"}),
	}
	for _, s := range SweepNames {
		m.Sweeps.WithLabelValues(s, "ok")
		m.Sweeps.WithLabelValues(s, "error")
		m.SweepItems.WithLabelValues(s)
		m.SweepLastOK.WithLabelValues(s)
	}
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.IntakeOutcomes, m.RunsFinished, m.RunEndToEnd, m.StepDuration,
		m.SweepReenqueued, m.Sweeps, m.SweepItems, m.SweepLastOK,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.ScheduleTicks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aias_schedule_ticks_total",
		Help: "Cron ticks handled by the leading scheduler, by outcome: fired (a run started), held (over quota), skipped (missed and dropped by the catch-up policy, or the workflow disabled), refused (quota and buffer full).",
	}, []string{"outcome"})
	for _, o := range TickOutcomes {
		m.ScheduleTicks.WithLabelValues(o)
	}
	m.SchedulerLeader = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "aias_scheduler_leader", Help: "1 while this scheduler holds the cron lease and ticks, else 0.",
	})
	r.MustRegister(m.ScheduleTicks, m.SchedulerLeader)
	m.RunsStarted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "aias_runs_started_total", Help: "Runs whose first delivery a worker claimed (retries and continuations not counted).",
	})
	m.EnqueueDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "aias_enqueue_duration_seconds", Help: "Time to hand a run's task to Redis, by outcome (ok, error).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3},
	}, []string{"outcome"})
	m.EnqueueDuration.WithLabelValues("ok")
	m.EnqueueDuration.WithLabelValues("error")
	m.IntakeCommits = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "aias_intake_commit_runs",
		Help:    "Runs per intake transaction (AIAS_INTAKE_GROUP_COMMIT), by outcome: ok, or split (the statement failed and its runs were inserted one by one).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	}, []string{"outcome"})
	m.IntakeCommits.WithLabelValues("ok")
	m.IntakeCommits.WithLabelValues("split")
	r.MustRegister(m.RunsStarted, m.EnqueueDuration, m.IntakeCommits)
	return m
}

// IntakeCommitted observes one transaction of the intake's group commit
// and how many runs it carried. m may be nil.
func (m *Metrics) IntakeCommitted(runs int, split bool) {
	if m == nil {
		return
	}
	outcome := "ok"
	if split {
		outcome = "split"
	}
	m.IntakeCommits.WithLabelValues(outcome).Observe(float64(runs))
}

// Enqueued observes one enqueue of a run's task. m may be nil.
func (m *Metrics) Enqueued(d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.EnqueueDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// RunFinished counts a run that reached a terminal status and observes how
// long it took from the intake of its trigger.
func (m *Metrics) RunFinished(status string, sinceIntake time.Duration) {
	m.RunsFinished.WithLabelValues(status).Inc()
	m.RunEndToEnd.WithLabelValues(status).Observe(max(sinceIntake, 0).Seconds())
}

// Swept records one pass of a scheduler sweep: how many things it acted on
// and whether it failed. A pass cut short by shutdown is not recorded. m may
// be nil (the scheduler's metrics are optional).
func (m *Metrics) Swept(sweep string, acted int, err error) {
	if m == nil || errors.Is(err, context.Canceled) {
		return
	}
	if acted > 0 {
		m.SweepItems.WithLabelValues(sweep).Add(float64(acted))
	}
	if err != nil {
		m.Sweeps.WithLabelValues(sweep, "error").Inc()
		return
	}
	m.Sweeps.WithLabelValues(sweep, "ok").Inc()
	m.SweepLastOK.WithLabelValues(sweep).SetToCurrentTime()
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// The outcomes of a cron tick, as aias_schedule_ticks_total labels them.
const (
	TickFired   = "fired"
	TickHeld    = "held"
	TickSkipped = "skipped"
	TickRefused = "refused"
)

// TickOutcomes lists every tick outcome; their series exist from the start.
var TickOutcomes = []string{TickFired, TickHeld, TickSkipped, TickRefused}

// Ticked counts n cron ticks with one outcome. m may be nil.
func (m *Metrics) Ticked(outcome string, n int) {
	if m != nil && n > 0 {
		m.ScheduleTicks.WithLabelValues(outcome).Add(float64(n))
	}
}

// Leading records whether this scheduler holds the cron lease. m may be nil.
func (m *Metrics) Leading(leader bool) {
	if m == nil {
		return
	}
	if leader {
		m.SchedulerLeader.Set(1)
		return
	}
	m.SchedulerLeader.Set(0)
}

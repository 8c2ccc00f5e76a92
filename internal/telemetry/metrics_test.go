package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"aias/internal/telemetry"
)

func TestSweptCountsPassesItemsAndLastSuccess(t *testing.T) {
	t.Parallel()
	m := telemetry.New()
	before := float64(time.Now().Unix())
	m.Swept(telemetry.SweepRequeue, 3, nil)
	m.Swept(telemetry.SweepRequeue, 1, errors.New("redis down"))
	m.Swept(telemetry.SweepRequeue, 0, fmt.Errorf("find candidates: %w", context.Canceled)) // shutdown: not a failure
	var nilMetrics *telemetry.Metrics
	nilMetrics.Swept(telemetry.SweepHeld, 1, nil) // optional metrics

	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"ok passes", gather(t, m, "aias_sweeps_total", "sweep", "requeue", "outcome", "ok"), 1},
		{"failed passes", gather(t, m, "aias_sweeps_total", "sweep", "requeue", "outcome", "error"), 1},
		{"items", gather(t, m, "aias_sweep_items_total", "sweep", "requeue"), 4},
		{"held items", gather(t, m, "aias_sweep_items_total", "sweep", "held"), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if last := gather(t, m, "aias_sweep_last_success_timestamp_seconds", "sweep", "requeue"); last < before {
		t.Errorf("last success = %v, want at least %v", last, before)
	}
	if last := gather(t, m, "aias_sweep_last_success_timestamp_seconds", "sweep", "retention"); last != 0 {
		t.Errorf("last success of a sweep that never ran = %v, want 0", last)
	}
}

func TestRunFinishedCountsAndObserves(t *testing.T) {
	t.Parallel()
	m := telemetry.New()
	m.RunFinished("succeeded", 1500*time.Millisecond)
	m.RunFinished("dead", -time.Second) // clock skew between hosts: counted as 0
	if got := gather(t, m, "aias_runs_finished_total", "status", "succeeded"); got != 1 {
		t.Errorf("aias_runs_finished_total{succeeded} = %v, want 1", got)
	}
	for status, want := range map[string]float64{"succeeded": 1.5, "dead": 0} {
		if got := gather(t, m, "aias_run_end_to_end_duration_seconds", "status", status); got != want {
			t.Errorf("aias_run_end_to_end_duration_seconds_sum{status=%q} = %v, want %v", status, got, want)
		}
	}
}

func TestPoolAndDependencyCollectors(t *testing.T) {
	t.Parallel()
	m := telemetry.New()
	m.WatchRedis("app", 20, func() *redis.PoolStats { return &redis.PoolStats{TotalConns: 5, IdleConns: 2, Timeouts: 1} })
	m.WatchDependency("redis", func(context.Context) error { return errors.New("refused") })
	m.WatchDependency("postgres", func(context.Context) error { return nil })
	for name, want := range map[string]float64{
		"aias_redis_pool_max_connections": 20, "aias_redis_pool_connections": 5,
		"aias_redis_pool_idle_connections": 2, "aias_redis_pool_timeouts_total": 1,
	} {
		if got := gather(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := gather(t, m, "aias_dependency_up", "dependency", "redis"); got != 0 {
		t.Errorf("aias_dependency_up{redis} = %v, want 0", got)
	}
	if got := gather(t, m, "aias_dependency_up", "dependency", "postgres"); got != 1 {
		t.Errorf("aias_dependency_up{postgres} = %v, want 1", got)
	}
}

// gather finds the sample of a metric family whose labels include the
// name/value pairs of labels and returns its value (a histogram's: its sum).
func gather(t *testing.T, m *telemetry.Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			match := true
			for i := 0; i+1 < len(labels); i += 2 {
				match = match && have[labels[i]] == labels[i+1]
			}
			switch {
			case !match:
			case s.GetGauge() != nil:
				return s.GetGauge().GetValue()
			case s.GetHistogram() != nil:
				return s.GetHistogram().GetSampleSum()
			default:
				return s.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no sample of %s %v", name, labels)
	return 0
}

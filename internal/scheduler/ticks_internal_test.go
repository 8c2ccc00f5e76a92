package scheduler

import (
	"testing"
	"time"

	"aias/internal/workflow"
)

func TestPlanTicksAfterALongOutage(t *testing.T) {
	t.Parallel()
	c, err := workflow.Schedule{Cron: "* * * * *"}.ParseCron()
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := next.Add(30*24*time.Hour + 30*time.Second) // a month down: 43,201 ticks
	tests := []struct {
		policy  string
		fire    []tickRun
		skipped int
	}{
		{workflow.CatchUpSkip, nil, maxCounted},
		{workflow.CatchUpOnce, []tickRun{{at: now.Add(-30 * time.Second), missed: maxCounted}}, maxCounted - 1},
	}
	for _, tt := range tests {
		p := planTicks(c, tt.policy, next, now, 10*time.Second)
		if len(p.fire) != len(tt.fire) || (len(p.fire) == 1 && p.fire[0] != tt.fire[0]) || p.skipped != tt.skipped {
			t.Errorf("planTicks(%s) = fire %v, skipped %d; want fire %v, skipped %d", tt.policy, p.fire, p.skipped, tt.fire, tt.skipped)
		}
		if want := now.Add(30 * time.Second); !p.next.Equal(want) {
			t.Errorf("planTicks(%s).next = %s, want %s", tt.policy, p.next, want)
		}
	}
}

func TestPlanTicksFiresEveryTickWithinTheMissedWindow(t *testing.T) {
	t.Parallel()
	c, err := workflow.Schedule{Cron: "*/15 * * * *"}.ParseCron()
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	now := next.Add(50 * time.Minute) // ticks at :00, :15, :30, :45
	p := planTicks(c, workflow.CatchUpSkip, next, now, 40*time.Minute)
	// :00 is 50 minutes late (missed); :15, :30 and :45 are within 40 minutes.
	if len(p.fire) != 3 || p.skipped != 1 || !p.fire[0].at.Equal(next.Add(15*time.Minute)) {
		t.Errorf("planTicks = fire %v, skipped %d; want :15, :30, :45 and one skipped", p.fire, p.skipped)
	}
}

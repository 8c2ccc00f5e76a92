package scheduler

import (
	"time"

	"aias/internal/workflow"
)

// tickRun is one run to start: the tick it belongs to and, for a catch-up
// run, how many missed ticks it stands for.
type tickRun struct {
	at     time.Time
	missed int
}

// tickPlan is what to do with a schedule's ticks from its next unhandled
// tick up to now.
type tickPlan struct {
	fire    []tickRun
	skipped int       // ticks that start no run
	next    time.Time // the first tick after now (zero: none within five years)
}

// maxCounted bounds the counting of missed ticks after a long outage; the
// catch-up run (policy once) is still the latest missed tick.
const maxCounted = 10000

// planTicks splits the ticks in [next, now]: those older than missedAfter
// are missed and follow the policy (skip: none runs; once: one run, at the
// latest missed tick, stands for all of them); the others are on time and
// each starts a run.
func planTicks(c *workflow.Cron, policy string, next, now time.Time, missedAfter time.Duration) tickPlan {
	var p tickPlan
	cutoff := now.Add(-missedAfter)
	if next.Before(cutoff) {
		n, last := missedTicks(c, next, cutoff)
		switch {
		case n == 0:
		case policy == workflow.CatchUpOnce:
			p.fire = append(p.fire, tickRun{at: last, missed: n})
			p.skipped = n - 1
		default:
			p.skipped = n
		}
	}
	from := next
	if from.Before(cutoff) {
		from = cutoff
	}
	for t := c.AtOrAfter(from); !t.IsZero() && !t.After(now); t = c.Next(t) {
		p.fire = append(p.fire, tickRun{at: t})
	}
	p.next = c.Next(now)
	return p
}

// missedTicks counts the ticks in [from, before) and finds the latest one.
func missedTicks(c *workflow.Cron, from, before time.Time) (n int, last time.Time) {
	for t := c.AtOrAfter(from); !t.IsZero() && t.Before(before); t = c.Next(t) {
		n, last = n+1, t
		if n == maxCounted {
			return n, lastBefore(c, t, before)
		}
	}
	return n, last
}

// lastBefore finds the latest tick before before, given that after is one,
// by looking back over growing windows instead of walking every tick.
func lastBefore(c *workflow.Cron, after, before time.Time) time.Time {
	for _, w := range []time.Duration{time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		from := before.Add(-w)
		if from.Before(after) {
			from = after
		}
		t := c.AtOrAfter(from)
		if t.IsZero() || !t.Before(before) {
			continue
		}
		for n := c.Next(t); !n.IsZero() && n.Before(before); n = c.Next(n) {
			t = n
		}
		return t
	}
	return after
}

package ratelimit

import (
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/time/rate"
)

// Limit is a rate: Rate events per Period, with up to Burst at once.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// PerSecond is rate events per second with the given burst.
func PerSecond(rate, burst int) Limit {
	return Limit{Rate: rate, Burst: burst, Period: time.Second}
}

// Zero reports whether l is unlimited (Rate <= 0).
func (l Limit) Zero() bool { return l.Rate <= 0 }

// normalized fills in what a usable limit needs: a Period (default one
// second) and a Burst of at least one, without which nothing would ever pass.
func (l Limit) normalized() Limit {
	if l.Period <= 0 {
		l.Period = time.Second
	}
	if l.Burst < 1 {
		l.Burst = 1
	}
	return l
}

// perSecond is the refill rate in events per second.
func (l Limit) perSecond() float64 { return float64(l.Rate) / l.Period.Seconds() }

func (l Limit) gcra() redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Period}
}

func (l Limit) tokenBucket() (rate.Limit, int) { return rate.Limit(l.perSecond()), l.Burst }

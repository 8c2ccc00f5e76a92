package ratelimit_test

import (
	"context"
	"testing"

	"aias/internal/ratelimit"
	"aias/internal/testutil/redistest"
)

// generous never denies, so the benchmark measures the allowed path.
var generous = ratelimit.PerSecond(1_000_000_000, 1_000_000_000)

func BenchmarkAllowRedis(b *testing.B) {
	l := newLimiter(b, redistest.New(b), ratelimit.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := l.Allow(ctx, "bench", generous); !d.Allowed || d.Degraded {
			b.Fatalf("Allow = %+v", d)
		}
	}
}

func BenchmarkAllowDegraded(b *testing.B) {
	l := newLimiter(b, "redis://127.0.0.1:1/0", ratelimit.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := l.Allow(ctx, "bench", generous); !d.Degraded {
			b.Fatalf("Allow = %+v", d)
		}
	}
}

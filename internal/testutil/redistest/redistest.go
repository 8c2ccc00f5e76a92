// Package redistest gives each test its own real Redis logical database.
//
// asynq's keys have a fixed prefix, so isolation is by DB index: a test claims
// a free index 1..15 with a lease key in DB 0, flushes it, and releases it at
// cleanup. Tests across parallel packages wait for a free index rather than
// share one. AIAS_TEST_REDIS_URL names the server (default 127.0.0.1:6379).
package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	firstDB = 1
	lastDB  = 15
	lease   = 20 * time.Minute
)

// BaseURL is the Redis server tests use.
func BaseURL() string {
	if u := os.Getenv("AIAS_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New claims an empty Redis database for tb and returns its URL.
func New(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	opt, err := redis.ParseURL(BaseURL())
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	opt.DB = 0
	ctl := redis.NewClient(opt)
	defer func() { _ = ctl.Close() }()
	token := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	deadline := time.Now().Add(3 * time.Minute)
	for {
		for n := firstDB; n <= lastDB; n++ {
			key := fmt.Sprintf("aias:test:claim:%d", n)
			ok, err := ctl.SetNX(ctx, key, token, lease).Result()
			if err != nil {
				tb.Fatalf("redistest: Redis at %s is not reachable: %v", BaseURL(), err)
			}
			if ok {
				return claimed(tb, opt, n, key, token)
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: no free Redis database after 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func claimed(tb testing.TB, opt *redis.Options, n int, key, token string) string {
	tb.Helper()
	o := *opt
	o.DB = n
	c := redis.NewClient(&o)
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		tb.Fatalf("redistest: flush db %d: %v", n, err)
	}
	_ = c.Close()
	tb.Cleanup(func() {
		release(opt, n, key, token)
	})
	u, _ := url.Parse(BaseURL())
	u.Path = fmt.Sprintf("/%d", n)
	return u.String()
}

func release(opt *redis.Options, n int, key, token string) {
	ctx := context.Background()
	o := *opt
	o.DB = n
	c := redis.NewClient(&o)
	_ = c.FlushDB(ctx).Err()
	_ = c.Close()
	o.DB = 0
	ctl := redis.NewClient(&o)
	defer func() { _ = ctl.Close() }()
	if v, _ := ctl.Get(ctx, key).Result(); v == token {
		_ = ctl.Del(ctx, key).Err()
	}
}

// Client is a go-redis client of url, closed when tb ends.
func Client(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

package ingress

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"aias/internal/postgres"
	"aias/internal/queue"
)

// readyConnWait is how long readiness waits for a pool connection: a
// process whose pool cannot give one within it is not ready for more work.
const readyConnWait = time.Second

// healthz answers while the process is alive.
func healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readiness pings what a program needs to do its work.
type readiness struct {
	db    *postgres.DB
	redis redis.UniversalClient
}

// readyCheckBudget is each dependency's time to answer readiness.
const readyCheckBudget = 2 * time.Second

// readyz reports Postgres and Redis and answers 503 when one of them cannot
// do its work: Postgres unreachable ("unreachable", a connect that did not
// complete included) or giving no pool connection within a second
// ("busy"); Redis unreachable, or answering PING but refusing writes
// ("refuses_writes": out of memory under noeviction, a read-only replica).
// ?require=postgres narrows what decides the status code: the
// intake keeps accepting webhooks without Redis (the sweep enqueues them
// later), so a load balancer in front of the ingress may prefer to keep
// routing to it while only Redis is down.
//
// The two are checked at once, each within its own budget: a slow Postgres
// does not spend Redis's time, and a check that has not answered by then
// is unreachable (lib/pq's connect handshake does not watch a deadline).
func (r readiness) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	pg, rd := make(chan string, 1), make(chan string, 1)
	go func() { pg <- within(ctx, readyCheckBudget, r.postgresCheck) }()
	go func() { rd <- within(ctx, readyCheckBudget, r.redisCheck) }()
	checks := map[string]string{"postgres": <-pg, "redis": <-rd}
	required := []string{"postgres", "redis"}
	if q := c.QueryParam("require"); q != "" {
		required = strings.Split(q, ",")
	}
	status, word := http.StatusOK, "ready"
	for _, name := range required {
		if checks[name] != "ok" {
			status, word = http.StatusServiceUnavailable, "not_ready"
		}
	}
	return c.JSON(status, map[string]any{"status": word, "checks": checks})
}

func (r readiness) postgresCheck(ctx context.Context) string {
	err := r.db.Ping(postgres.WithConnWait(ctx, readyConnWait))
	switch {
	case postgres.IsConnecting(err): // the pool had room; Postgres did not complete the connect
		return "unreachable"
	case postgres.IsPoolBusy(err):
		return "busy"
	case err != nil:
		return "unreachable"
	}
	return "ok"
}

func (r readiness) redisCheck(ctx context.Context) string {
	err := queue.ProbeRedis(ctx, r.redis)
	switch {
	case errors.Is(err, queue.ErrRedisRefusesWrites):
		return "refuses_writes"
	case err != nil:
		return "unreachable"
	}
	return "ok"
}

// within runs check with a budget of d and answers "unreachable" if it has
// not answered by then; the check is left to end on its own.
func within(ctx context.Context, d time.Duration, check func(context.Context) string) string {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	out := make(chan string, 1)
	go func() { out <- check(ctx) }()
	select {
	case s := <-out:
		return s
	case <-ctx.Done():
		return "unreachable"
	}
}

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

// readyz reports Postgres and Redis and answers 503 when one of them cannot
// do its work: Postgres unreachable ("unreachable") or giving no pool
// connection within a second ("busy"); Redis unreachable, or answering
// PING but refusing writes ("refuses_writes": out of memory under
// noeviction, a read-only replica). ?require=postgres narrows what decides the status code: the
// intake keeps accepting webhooks without Redis (the sweep enqueues them
// later), so a load balancer in front of the ingress may prefer to keep
// routing to it while only Redis is down.
func (r readiness) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	if err := r.db.Ping(postgres.WithConnWait(ctx, readyConnWait)); postgres.IsPoolBusy(err) {
		checks["postgres"] = "busy"
	} else if err != nil {
		checks["postgres"] = "unreachable"
	}
	if err := queue.ProbeRedis(ctx, r.redis); errors.Is(err, queue.ErrRedisRefusesWrites) {
		checks["redis"] = "refuses_writes"
	} else if err != nil {
		checks["redis"] = "unreachable"
	}
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

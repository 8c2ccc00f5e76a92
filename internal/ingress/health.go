package ingress

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"aias/internal/postgres"
	"aias/internal/queue"
)

// healthz answers while the process is alive.
func healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readiness pings what a program needs to do its work.
type readiness struct {
	db    *postgres.DB
	redis redis.UniversalClient
}

// readyz reports Postgres and Redis and answers 503 when one of them is
// unreachable. ?require=postgres narrows what decides the status code: the
// intake keeps accepting webhooks without Redis (the sweep enqueues them
// later), so a load balancer in front of the ingress may prefer to keep
// routing to it while only Redis is down.
func (r readiness) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	if err := r.db.Ping(ctx); err != nil {
		checks["postgres"] = "unreachable"
	}
	if err := queue.PingRedis(ctx, r.redis); err != nil {
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

package ingress

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/logging"
	"aias/internal/run"
)

// objRunFilter is the object of a bulk call's audit entry: its object_id is
// the filter with what the call did, as JSON.
const objRunFilter = "run_filter"

// bulkResponse answers a bulk call. Held is only part of a replay's answer.
type bulkResponse struct {
	Count      int    `json:"count"`
	Held       *int   `json:"held,omitempty"`
	More       bool   `json:"more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// bulkAudit is the object_id of a bulk call's audit entry.
type bulkAudit struct {
	Status        []run.Status `json:"status"`
	WorkflowID    *uuid.UUID   `json:"workflow_id,omitempty"`
	CreatedAfter  *time.Time   `json:"created_after,omitempty"`
	CreatedBefore *time.Time   `json:"created_before,omitempty"`
	Version       string       `json:"version"`
	Limit         int          `json:"limit"`
	Cursor        bool         `json:"cursor,omitempty"` // continued an earlier call
	Count         int          `json:"count"`
	Held          int          `json:"held,omitempty"`
	More          bool         `json:"more"`
}

// bindBulk reads and validates a bulk call's filter; an empty body is an
// empty filter.
func bindBulk(c echo.Context, a run.BulkAction) (run.BulkFilter, error) {
	var req run.BulkRequest
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return run.BulkFilter{}, err
		}
	}
	return run.ParseBulk(a, req)
}

// bulkReplay is POST /runs/replay: a new run for every run the filter
// matches, each counted against the quota.
func (s *Server) bulkReplay(c echo.Context) error {
	f, err := bindBulk(c, run.BulkReplay)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	tenantID := principal(c).TenantID
	res, err := run.ReplayMatching(ctx, s.db, s.queue, tenantID, f, logging.RequestID(ctx), s.admit)
	return s.bulkAnswer(c, "run.bulk_replay", f, res, err)
}

// bulkRedrive is POST /runs/redrive: every failed or dead run the filter
// matches resumes.
func (s *Server) bulkRedrive(c echo.Context) error {
	f, err := bindBulk(c, run.BulkRedrive)
	if err != nil {
		return err
	}
	res, err := run.RedriveMatching(c.Request().Context(), s.db, s.queues, principal(c).TenantID, f)
	return s.bulkAnswer(c, "run.bulk_redrive", f, res, err)
}

// bulkAnswer audits a bulk call that changed anything, even one cut short
// by an error, and answers it.
func (s *Server) bulkAnswer(c echo.Context, action string, f run.BulkFilter, res run.BulkResult, err error) error {
	if err == nil || res.Count > 0 {
		s.auditAfter(c, action, objRunFilter, bulkAuditObject(f, res))
	}
	if err != nil {
		return err
	}
	out := bulkResponse{Count: res.Count, More: res.More}
	if f.Action == run.BulkReplay {
		out.Held = &res.Held
	}
	if res.More && res.Next.ID != uuid.Nil {
		out.NextCursor = res.Next.Encode()
	}
	return c.JSON(http.StatusAccepted, out)
}

func bulkAuditObject(f run.BulkFilter, res run.BulkResult) string {
	a := bulkAudit{Status: f.Statuses, CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore,
		Version: "pinned", Limit: f.Limit, Cursor: f.After != nil, Count: res.Count, Held: res.Held, More: res.More}
	if f.WorkflowID != uuid.Nil {
		a.WorkflowID = &f.WorkflowID
	}
	if f.Current {
		a.Version = "current"
	}
	b, _ := json.Marshal(a)
	return string(b)
}

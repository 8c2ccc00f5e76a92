package aias

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// RunFilter selects and pages the runs ListRuns reads.
type RunFilter struct {
	Status     RunStatus
	WorkflowID string
	EndpointID string
	// CreatedAfter and CreatedBefore bound when the runs were created: at
	// or after, and before (zero: unbounded).
	CreatedAfter, CreatedBefore time.Time
	// ExpandSteps embeds each run's steps.
	ExpandSteps bool
	// Limit is the page size, 1..200 (0: 50).
	Limit int
	// Cursor starts after an earlier page.
	Cursor string
}

func (f RunFilter) query() url.Values {
	q := ListOptions{Limit: f.Limit, Cursor: f.Cursor}.query()
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.WorkflowID != "" {
		q.Set("workflow_id", f.WorkflowID)
	}
	if f.EndpointID != "" {
		q.Set("endpoint_id", f.EndpointID)
	}
	if !f.CreatedAfter.IsZero() {
		q.Set("created_after", f.CreatedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !f.CreatedBefore.IsZero() {
		q.Set("created_before", f.CreatedBefore.UTC().Format(time.RFC3339Nano))
	}
	if f.ExpandSteps {
		q.Set("expand", "steps")
	}
	return q
}

// ListRuns lists the runs the filter selects, newest first, page after
// page, without their trigger's headers, query and body (GetRun has them).
// (listRuns; viewer)
func (c *Client) ListRuns(ctx context.Context, f RunFilter) iter.Seq2[Run, error] {
	return all(ctx, f.Cursor, func(ctx context.Context, cursor string) (Page[Run], error) {
		g := f
		g.Cursor = cursor
		return c.ListRunsPage(ctx, g)
	})
}

// ListRunsPage reads one page of ListRuns.
func (c *Client) ListRunsPage(ctx context.Context, f RunFilter) (Page[Run], error) {
	return page[Run](ctx, c, "/api/v1/runs", f.query())
}

// GetRun reads a run with its whole trigger. (getRun; viewer)
func (c *Client) GetRun(ctx context.Context, id string) (Run, error) {
	var r Run
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/runs/" + pathID(id)}, &r)
	return r, err
}

// ListRunSteps lists a run's step records in workflow order.
// (listRunSteps; viewer)
func (c *Client) ListRunSteps(ctx context.Context, id string) ([]RunStep, error) {
	var l list[RunStep]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/runs/" + pathID(id) + "/steps"}, &l)
	return l.Data, err
}

// ListRunArtifacts lists the artifacts a run stored.
// (listRunArtifacts; viewer)
func (c *Client) ListRunArtifacts(ctx context.Context, id string) ([]Artifact, error) {
	var l list[Artifact]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/runs/" + pathID(id) + "/artifacts"}, &l)
	return l.Data, err
}

// ReplayRun starts a new run with the same trigger, replay_of the original,
// counted against the quota. (replayRun; member)
func (c *Client) ReplayRun(ctx context.Context, id string, o RunControlRequest) (RunAccepted, error) {
	return c.control(ctx, id, "replay", o)
}

// RedriveRun resumes a failed or dead run after its last succeeded step
// with a fresh attempt budget. (redriveRun; member)
func (c *Client) RedriveRun(ctx context.Context, id string, o RunControlRequest) (RunAccepted, error) {
	return c.control(ctx, id, "redrive", o)
}

func (c *Client) control(ctx context.Context, id, verb string, o RunControlRequest) (RunAccepted, error) {
	var out RunAccepted
	r := request{method: http.MethodPost, path: "/api/v1/runs/" + pathID(id) + "/" + verb}
	var err error
	if o.Version != "" {
		r, err = r.jsonBody(o)
	}
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}

// CancelRun cancels a held, queued, delayed or running run.
// (cancelRun; member)
func (c *Client) CancelRun(ctx context.Context, id string) (CanceledRun, error) {
	var out CanceledRun
	err := c.call(ctx, request{method: http.MethodPost, path: "/api/v1/runs/" + pathID(id) + "/cancel"}, &out)
	return out, err
}

// ReplayRuns replays every run the request selects, oldest first, up to
// its Limit; continue with the result's NextCursor while More.
// (replayRuns; member)
func (c *Client) ReplayRuns(ctx context.Context, req BulkReplayRequest) (BulkResult, error) {
	return c.bulk(ctx, "/api/v1/runs/replay", req)
}

// RedriveRuns re-drives every failed or dead run the request selects.
// (redriveRuns; member)
func (c *Client) RedriveRuns(ctx context.Context, req BulkRedriveRequest) (BulkResult, error) {
	return c.bulk(ctx, "/api/v1/runs/redrive", req)
}

// bulk sends a bulk call. It is partial: AIAS commits it batch by batch.
// A call cut short after some batches answers 202 with what it did and the
// cursor; an error answer means it did nothing, but an older AIAS, or an
// answer lost on the network, may leave part of it done, and sending it
// again would act on those runs twice: it is not retried, and the caller
// continues from a cursor instead.
func (c *Client) bulk(ctx context.Context, path string, body any) (BulkResult, error) {
	var out BulkResult
	r, err := request{method: http.MethodPost, path: path, partial: true}.jsonBody(body)
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}

// BulkProgress is called after each batch of a bulk call with the totals so far.
type BulkProgress func(total BulkResult)

// ReplayAll replays every run the request selects, batch after batch
// (req.Limit runs each), calling progress after each, and returns the
// totals. Without CreatedBefore, it is set to now, so the replays it makes
// do not match again.
//
// On an error it returns the totals of the calls that succeeded, with
// NextCursor where the failed call began: a later ReplayAll continues from
// there with the same filter and CreatedBefore. The failed call itself may
// have replayed some runs past that cursor before it failed (a batch
// commits on its own; AIAS's audit entry run.bulk_replay counts them).
func (c *Client) ReplayAll(ctx context.Context, req BulkReplayRequest, progress BulkProgress) (BulkResult, error) {
	if req.CreatedBefore == nil {
		req.CreatedBefore = Ptr(nowUTC())
	}
	var total BulkResult
	for {
		r, err := c.ReplayRuns(ctx, req)
		if err != nil {
			total.NextCursor = req.Cursor
			return total, err
		}
		held := 0
		if total.Held != nil {
			held = *total.Held
		}
		if r.Held != nil {
			held += *r.Held
		}
		total.Count, total.Held, total.More, total.NextCursor = total.Count+r.Count, &held, r.More, r.NextCursor
		if progress != nil {
			progress(total)
		}
		if !r.More || r.Count == 0 {
			return total, nil
		}
		req.Cursor = r.NextCursor
	}
}

// RedriveAll re-drives every run the request selects, batch after batch,
// calling progress after each, and returns the totals; on an error, those
// of the calls that succeeded, with NextCursor where the failed call began
// (as ReplayAll).
func (c *Client) RedriveAll(ctx context.Context, req BulkRedriveRequest, progress BulkProgress) (BulkResult, error) {
	var total BulkResult
	for {
		r, err := c.RedriveRuns(ctx, req)
		if err != nil {
			total.NextCursor = req.Cursor
			return total, err
		}
		total.Count, total.More, total.NextCursor = total.Count+r.Count, r.More, r.NextCursor
		if progress != nil {
			progress(total)
		}
		if !r.More || r.Count == 0 {
			return total, nil
		}
		req.Cursor = r.NextCursor
	}
}

// nowUTC is the current time, for a bulk replay's upper bound.
func nowUTC() time.Time { return time.Now().UTC() }

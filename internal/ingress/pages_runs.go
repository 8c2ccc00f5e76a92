package ingress

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/artifact"
	"aias/internal/console"
	"aias/internal/diagnostics"
	"aias/internal/entitlement"
	"aias/internal/page"
	"aias/internal/postgres"
	"aias/internal/run"
	"aias/internal/step"
	"aias/internal/webhook"
	"aias/internal/workflow"
)

// The console's pages about runs: the overview, the list with its filters
// and live view, and one run. Each reads what the API's handlers read,
// through the same functions, in one tenant transaction.

// overviewData is the overview page.
type overviewData struct {
	Chart    console.Chart
	Report   diagnostics.Report
	Usage    entitlement.Usage
	Meters   []meter
	Window   string
	OldestQ  string
	Rejected int64
}

// meter is one line of usage against the plan.
type meter struct {
	Label      string
	Used       int64
	Limit      int64 // 0 or less: unlimited
	Percent    int
	Unlimited  bool
	OverBudget bool
}

func (s *Server) overviewPage(c echo.Context) error {
	now := time.Now()
	var d overviewData
	var counts []run.MinuteCount
	err := s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if counts, err = run.PerMinute(ctx, q, now.Add(-diagnostics.Window)); err != nil {
			return err
		}
		if d.Report, err = diagnostics.Of(ctx, q, now); err != nil {
			return err
		}
		d.Usage, err = s.ent.UsageOf(ctx, q, principal(c).TenantID, now)
		return err
	})
	if err != nil {
		return err
	}
	cs := make([]console.Count, len(counts))
	for i, m := range counts {
		cs[i] = console.Count{Minute: m.Minute, Status: string(m.Status), N: m.Count}
	}
	d.Chart = console.PerMinute(now, diagnostics.Window, cs)
	d.Window = "24 h"
	if d.Report.OldestQueuedSeconds != nil {
		d.OldestQ = (time.Duration(*d.Report.OldestQueuedSeconds * float64(time.Second))).Truncate(time.Second).String()
	}
	for _, r := range d.Report.Rejections {
		d.Rejected += r.Count
	}
	d.Meters = meters(s.ent.Resolve(d.Usage.Plan).Limits, d.Usage)
	return s.page(c, "overview.html", "Overview", "overview", d)
}

// meters lines usage up against the plan's limits.
func meters(l any, u entitlement.Usage) []meter {
	var lim map[string]int64
	b, _ := json.Marshal(l)
	_ = json.Unmarshal(b, &lim)
	mk := func(label string, used int64, key string) meter {
		m := meter{Label: label, Used: used}
		limit, ok := lim[key]
		if !ok || limit < 0 { // -1: unlimited (docs/plans.md)
			m.Unlimited = true
			return m
		}
		m.Limit, m.Percent, m.OverBudget = limit, 100, true // 0: none at all
		if limit > 0 {
			m.Percent = int(min(100, used*100/limit))
			m.OverBudget = used >= limit
		}
		return m
	}
	return []meter{
		mk("Runs this period", u.RunsThisMonth, "runs_per_month"),
		mk("Workflows", u.Workflows, "workflows"),
		mk("Webhook endpoints", u.Endpoints, "webhook_endpoints"),
		mk("Artifact bytes this period", u.ArtifactBytes, "artifact_bytes_per_month"),
	}
}

// runsData is the runs page and its live fragment.
type runsData struct {
	Runs          []runRow
	Next          string
	Query         url.Values // the filter, for links and the bulk form
	Filter        runsFilterView
	Workflows     []workflow.Workflow
	Endpoints     []webhook.Endpoint
	Live          bool
	StatusOptions []string
	RefreshURL    string
	NextURL       string
	FirstURL      string // on a page after the first: the first, with the same filter
	Bulk          *bulkOffer
}

type runsFilterView struct {
	Status, WorkflowID, EndpointID, After, Before string
}

type runRow struct {
	run.Run
	Workflow string
	Took     string
}

// bulkOffer is the replay/redrive form under a filter, with the number of
// runs each would act on now.
type bulkOffer struct {
	Replay, Redrive int
	Statuses        []string // the replay's statuses (the filter's, or every terminal one)
	RedriveStatuses []string // the redrive's (nil: failed and dead)
	WorkflowID      string
	After, Before   string
	Limit           int
}

// statuses the runs filter offers.
var runStatuses = []string{"held", "queued", "delayed", "running", "succeeded", "failed", "dead", "canceled"}

func (s *Server) runsPage(c echo.Context) error {
	d, err := s.readRuns(c)
	if err != nil {
		return err
	}
	if c.QueryParam("fragment") != "" {
		return s.fragment(c, "runs.html", "runs-table", d.Live, d)
	}
	return s.page(c, "runs.html", "Runs", "runs", d)
}

func (s *Server) readRuns(c echo.Context) (runsData, error) {
	d := runsData{StatusOptions: runStatuses}
	p, err := pageRequest(c)
	if err != nil {
		return d, err
	}
	f, err := runFilter(c)
	if err != nil {
		return d, err
	}
	d.Filter = runsFilterView{Status: string(f.Status), WorkflowID: c.QueryParam("workflow_id"),
		EndpointID: c.QueryParam("endpoint_id"), After: c.QueryParam("created_after"), Before: c.QueryParam("created_before")}
	names := map[uuid.UUID]string{}
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		rs, next, err := run.List(ctx, q, f, p)
		if err != nil {
			return err
		}
		d.Next = next
		if d.Workflows, _, err = workflow.List(ctx, q, page.Request{Limit: page.MaxLimit}); err != nil {
			return err
		}
		if d.Endpoints, _, err = webhook.List(ctx, q, page.Request{Limit: page.MaxLimit}); err != nil {
			return err
		}
		for _, w := range d.Workflows {
			names[w.ID] = w.Name
		}
		for _, r := range rs {
			d.Runs = append(d.Runs, runRow{Run: r, Workflow: names[r.WorkflowID], Took: took(r)})
			d.Live = d.Live || !r.Status.Terminal()
		}
		d.Bulk, err = bulkOfferFor(ctx, q, f, principal(c).Role.AtLeast("member"))
		return err
	})
	if err != nil {
		return d, err
	}
	d.Query = filterQuery(c)
	fq := url.Values{}
	for k, v := range d.Query {
		fq[k] = v
	}
	if p.After == nil {
		// The first page is the live one, while a run on it still moves
		// (d.Live); older pages stay still.
		fq.Set("fragment", "1")
		d.RefreshURL = "/runs?" + fq.Encode()
	} else {
		d.Live, d.FirstURL = false, "/runs"
		if len(d.Query) > 0 {
			d.FirstURL += "?" + d.Query.Encode()
		}
	}
	if d.Next != "" {
		nq := url.Values{}
		for k, v := range d.Query {
			nq[k] = v
		}
		nq.Set("cursor", d.Next)
		d.NextURL = "/runs?" + nq.Encode()
	}
	return d, nil
}

// filterQuery is the request's filter (and page size) without the cursor.
func filterQuery(c echo.Context) url.Values {
	out := url.Values{}
	for _, k := range []string{"status", "workflow_id", "endpoint_id", "created_after", "created_before", "limit"} {
		if v := c.QueryParam(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// bulkOfferFor counts what a bulk replay and redrive of the filter would
// act on. The bulk calls filter by status, workflow and time, not by
// endpoint: with an endpoint filter there is no offer.
func bulkOfferFor(ctx context.Context, q postgres.Querier, f run.Filter, member bool) (*bulkOffer, error) {
	if !member || f.EndpointID != uuid.Nil {
		return nil, nil
	}
	req := run.BulkRequest{}
	if f.WorkflowID != uuid.Nil {
		req.WorkflowID = f.WorkflowID.String()
	}
	if f.CreatedAfter != nil {
		req.CreatedAfter = f.CreatedAfter.Format(time.RFC3339Nano)
	}
	if f.CreatedBefore != nil {
		req.CreatedBefore = f.CreatedBefore.Format(time.RFC3339Nano)
	}
	o := &bulkOffer{WorkflowID: req.WorkflowID, After: req.CreatedAfter, Before: req.CreatedBefore, Limit: run.BulkDefaultLimit}
	replayReq, redriveReq := req, req
	switch f.Status {
	case "":
		replayReq.Status = []string{"succeeded", "failed", "dead", "canceled"}
	case run.Succeeded, run.Canceled:
		replayReq.Status = []string{string(f.Status)}
		redriveReq.Status = nil
	case run.Failed, run.Dead:
		replayReq.Status = []string{string(f.Status)}
		redriveReq.Status = []string{string(f.Status)}
	default:
		return nil, nil // runs still moving: nothing to replay or redrive
	}
	o.Statuses, o.RedriveStatuses = replayReq.Status, redriveReq.Status
	for _, x := range []struct {
		req run.BulkRequest
		a   run.BulkAction
		n   *int
	}{{replayReq, run.BulkReplay, &o.Replay}, {redriveReq, run.BulkRedrive, &o.Redrive}} {
		if x.a == run.BulkRedrive && f.Status != "" && x.req.Status == nil {
			continue
		}
		bf, err := run.ParseBulk(x.a, x.req)
		if err != nil {
			return nil, err
		}
		if *x.n, err = run.CountMatching(ctx, q, bf); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func took(r run.Run) string {
	if r.StartedAt == nil {
		return ""
	}
	end := time.Now()
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return end.Sub(*r.StartedAt).Round(time.Millisecond).String()
}

// runData is the run page.
type runData struct {
	Run       run.Run
	Workflow  string
	Trigger   triggerJSON
	Headers   []header
	Body      string
	Steps     []stepView
	Timeline  console.Chart
	Artifacts []artifactView
	Live      bool
}

type header struct{ Name, Value string }

type stepView struct {
	run.StepRecord
	Input  string // the step's definition (its with:), before evaluation
	Output string
	Logs   []step.LogLine
}

type artifactView struct {
	artifact.Artifact
	Kind    string // "text", "image" or "" (download only)
	Preview string // the text of a text or JSON artifact, cut at previewBytes
	Cut     bool
}

// previewBytes is how much of a text artifact its run page shows.
const previewBytes = 64 << 10

func (s *Server) runPage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var d runData
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		r, err := run.Get(ctx, q, id)
		if err != nil {
			return err
		}
		d.Run = r
		if w, err := workflow.Get(ctx, q, r.WorkflowID); err == nil {
			d.Workflow = w.Name
		}
		def, err := workflow.Pinned(ctx, q, r.WorkflowID, r.WorkflowVersion)
		if err != nil {
			return err
		}
		records, err := run.Steps(ctx, q, id)
		if err != nil {
			return err
		}
		d.Steps = stepViews(records, def)
		arts, err := artifact.ListByRun(ctx, q, id)
		if err != nil {
			return err
		}
		d.Artifacts, err = artifactViews(ctx, q, arts)
		return err
	})
	if err != nil {
		return err
	}
	rj := toRunJSON(d.Run, true)
	d.Trigger = rj.Trigger
	for k, v := range d.Run.Headers {
		d.Headers = append(d.Headers, header{k, v})
	}
	sortHeaders(d.Headers)
	d.Body = bodyText(d.Run.Body, d.Run.ContentType)
	d.Live = !d.Run.Status.Terminal()
	start := d.Run.CreatedAt
	if d.Run.StartedAt != nil {
		start = *d.Run.StartedAt
	}
	spans := make([]console.Span, len(d.Steps))
	for i, st := range d.Steps {
		spans[i] = console.Span{Name: st.Name, Status: st.Status, Start: st.StartedAt, End: st.FinishedAt, Retries: st.Tries}
		if st.StartedAt != nil && st.StartedAt.Before(start) {
			start = *st.StartedAt
		}
	}
	d.Timeline = console.Timeline(start, spans)
	return s.page(c, "run.html", "Run "+d.Run.ID.String()[:8], "runs", d)
}

func sortHeaders(h []header) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && strings.ToLower(h[j].Name) < strings.ToLower(h[j-1].Name); j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

// bodyText is a trigger body as the page shows it: JSON indented, text as
// it is, anything else described.
func bodyText(b []byte, contentType string) string {
	switch v := bodyJSON(b, contentType).(type) {
	case json.RawMessage:
		var x any
		if json.Unmarshal(v, &x) == nil {
			return console.Indent(x)
		}
	case string:
		if strings.ToValidUTF8(v, "") == v {
			return v
		}
	}
	return "(" + contentType + ", " + itoa(len(b)) + " bytes, not text)"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// stepViews pairs each step record with its definition (by name, through
// switch branches and foreach bodies).
func stepViews(records []run.StepRecord, def workflow.Definition) []stepView {
	defs := map[string]workflow.Step{}
	var walk func([]workflow.Step)
	walk = func(steps []workflow.Step) {
		for _, st := range steps {
			defs[st.Name] = st
			for _, cs := range st.Cases {
				walk(cs.Steps)
			}
			walk(st.Default)
			walk(st.Steps)
		}
	}
	walk(def.Steps)
	out := make([]stepView, len(records))
	for i, r := range records {
		v := stepView{StepRecord: r, Output: prettyJSON(r.Output)}
		if d, ok := defs[r.Name]; ok && d.With != nil {
			v.Input = console.Indent(d.With)
		}
		_ = json.Unmarshal(r.Logs, &v.Logs)
		out[i] = v
	}
	return out
}

func prettyJSON(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		return ""
	}
	return console.Indent(v)
}

// artifactViews reads the text of the text and JSON artifacts for their
// preview; images are previewed by the browser from the download route.
func artifactViews(ctx context.Context, q postgres.Querier, arts []artifact.Artifact) ([]artifactView, error) {
	out := make([]artifactView, len(arts))
	for i, a := range arts {
		v := artifactView{Artifact: a}
		ct := strings.ToLower(a.ContentType)
		switch {
		case strings.HasPrefix(ct, "image/png"), strings.HasPrefix(ct, "image/jpeg"), strings.HasPrefix(ct, "image/gif"), strings.HasPrefix(ct, "image/webp"),
			strings.HasPrefix(ct, "image/svg+xml"): // an <img> never runs an SVG's scripts
			v.Kind = "image"
		case strings.HasPrefix(ct, "text/"), strings.Contains(ct, "json"), strings.Contains(ct, "xml"), strings.Contains(ct, "yaml"):
			v.Kind = "text"
			var buf limitedBuffer
			buf.limit = previewBytes
			if err := artifact.WriteContent(ctx, q, a, &buf); err != nil {
				return nil, err
			}
			v.Cut = buf.cut
			text := strings.ToValidUTF8(string(buf.b), "\uFFFD")
			if strings.Contains(ct, "json") && !v.Cut {
				if p := prettyJSON(json.RawMessage(buf.b)); p != "" {
					text = p
				}
			}
			v.Preview = text
		}
		out[i] = v
	}
	return out, nil
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	b     []byte
	limit int
	cut   bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	room := l.limit - len(l.b)
	if len(p) > room {
		l.b = append(l.b, p[:max(room, 0)]...)
		l.cut = true
		return len(p), nil
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"aias/pkg/aias"
)

const runsUsage = `usage:
  aias runs ls [--status S] [--workflow NAME|ID] [--endpoint ID] [--since T] [--until T] [--limit 20] [--json]
  aias runs get ID [--steps] [--json]
  aias runs tail [--status S] [--workflow NAME|ID] [--endpoint ID] [--interval 1s] [--json]
  aias runs replay ID [--current] [--json]
  aias runs redrive ID [--current] [--json]
  aias runs cancel ID [--json]
  aias runs bulk-replay --status S[,S] [--workflow NAME|ID] [--after T] [--before T] [--current] [--batch 500] [--cursor C] [--json]
  aias runs bulk-redrive [--status failed,dead] [--workflow NAME|ID] [--after T] [--before T] [--current] [--batch 500] [--cursor C] [--json]`

// runs is `aias runs …`.
func (e env) runs(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("%s", runsUsage)
	}
	switch args[0] {
	case "ls", "list":
		return e.runsList(ctx, args[1:])
	case "get":
		return e.runsGet(ctx, args[1:])
	case "tail":
		return e.runsTail(ctx, args[1:])
	case "replay", "redrive", "cancel":
		return e.runsControl(ctx, args[0], args[1:])
	case "bulk-replay", "bulk-redrive":
		return e.runsBulk(ctx, args[0], args[1:])
	}
	return usageErr("%s", runsUsage)
}

// runFilterFlags are the filters ls and tail share.
type runFilterFlags struct {
	status, workflow, endpoint *string
}

func addRunFilter(f flags) runFilterFlags {
	return runFilterFlags{
		status:   f.String("status", "", "only runs in this status: held, queued, delayed, running, succeeded, failed, dead, canceled"),
		workflow: f.String("workflow", "", "only this workflow's runs (name or id)"),
		endpoint: f.String("endpoint", "", "only runs delivered to this endpoint (id)"),
	}
}

func (r runFilterFlags) filter(ctx context.Context, c *aias.Client) (aias.RunFilter, error) {
	f := aias.RunFilter{Status: aias.RunStatus(*r.status), EndpointID: *r.endpoint}
	if *r.workflow != "" {
		id, err := workflowID(ctx, c, *r.workflow)
		if err != nil {
			return f, err
		}
		f.WorkflowID = id
	}
	return f, nil
}

func (e env) runsList(ctx context.Context, args []string) error {
	f := e.flags("runs ls")
	rf := addRunFilter(f)
	limit := f.Int("limit", 20, "at most this many runs, newest first")
	since := f.String("since", "", "only runs created at or after this time (RFC 3339, or a duration ago: 2h)")
	until := f.String("until", "", "only runs created before this time (RFC 3339, or a duration ago)")
	if _, err := f.parse(args, 0, "runs ls [--status S] [--workflow W] [--endpoint ID] [--since T] [--until T] [--limit N]"); err != nil {
		return err
	}
	if *limit < 1 {
		return usageErr("--limit must be at least 1")
	}
	from, err := parseWhen("--since", *since)
	if err != nil {
		return err
	}
	to, err := parseWhen("--until", *until)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	filter, err := rf.filter(ctx, c)
	if err != nil {
		return err
	}
	filter.CreatedAfter, filter.CreatedBefore = from, to
	filter.Limit = min(max(*limit, 1), 200)
	var runs []aias.Run
	for r, err := range c.ListRuns(ctx, filter) {
		if err != nil {
			return err
		}
		if runs = append(runs, r); len(runs) >= *limit {
			break
		}
	}
	if *f.json {
		return e.printJSON(nonNil(runs))
	}
	names := loadWorkflowNames(ctx, c)
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		rows = append(rows, []string{r.ID, string(r.Status), names.of(r.WorkflowID), string(r.Trigger.Kind),
			ago(r.CreatedAt), runDuration(r), orDash(r.Error)})
	}
	return e.table([]string{"ID", "STATUS", "WORKFLOW", "TRIGGER", "CREATED", "DURATION", "ERROR"}, rows)
}

// parseWhen reads a time flag: RFC 3339, or a duration before now; ""
// is no bound (the zero time).
func parseWhen(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usageErr("%s %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (2h)", flag, v)
}

func (e env) runsGet(ctx context.Context, args []string) error {
	f := e.flags("runs get")
	withSteps := f.Bool("steps", false, "also show each step")
	pos, err := f.parse(args, 1, "runs get ID [--steps] [--json]")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	r, err := c.GetRun(ctx, pos[0])
	if err != nil {
		return err
	}
	var steps []aias.RunStep
	if *withSteps {
		if steps, err = c.ListRunSteps(ctx, r.ID); err != nil {
			return err
		}
	}
	if *f.json {
		if *withSteps {
			r.Steps = nonNil(steps)
		}
		return e.printJSON(r)
	}
	fmt.Fprintf(e.out, "id:         %s\nstatus:     %s\nworkflow:   %s (version %d)\ntrigger:    %s\nattempt:    %d of %d\ncreated:    %s\nduration:   %s\nerror:      %s\n",
		r.ID, r.Status, r.WorkflowID, r.WorkflowVersion, r.Trigger.Kind, r.Attempt, r.MaxAttempts, ago(r.CreatedAt), runDuration(r), orDash(r.Error))
	if r.ReplayOf != "" {
		fmt.Fprintf(e.out, "replay of:  %s\n", r.ReplayOf)
	}
	if !*withSteps {
		return nil
	}
	fmt.Fprintln(e.out)
	rows := make([][]string, 0, len(steps))
	for _, s := range steps {
		rows = append(rows, []string{strconv.Itoa(s.Position), s.Name, s.Type, string(s.Status), strconv.Itoa(s.Attempt),
			(time.Duration(s.DurationMS) * time.Millisecond).String(), orDash(s.Error)})
	}
	return e.table([]string{"#", "STEP", "TYPE", "STATUS", "ATTEMPT", "DURATION", "ERROR"}, rows)
}

func (e env) runsControl(ctx context.Context, verb string, args []string) error {
	f := e.flags("runs " + verb)
	current := f.Bool("current", false, "run the workflow's current version, not the run's own")
	pos, err := f.parse(args, 1, "runs "+verb+" ID")
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	o := aias.RunControlRequest{}
	if *current {
		o.Version = aias.VersionCurrent
	}
	var out any
	var msg string
	switch verb {
	case "replay":
		a, err := c.ReplayRun(ctx, pos[0], o)
		if err != nil {
			return err
		}
		out, msg = a, fmt.Sprintf("run %s replayed as run %s (%s)", pos[0], a.RunID, a.Status)
	case "redrive":
		a, err := c.RedriveRun(ctx, pos[0], o)
		if err != nil {
			return err
		}
		out, msg = a, fmt.Sprintf("run %s re-driven (%s)", a.RunID, a.Status)
	default:
		r, err := c.CancelRun(ctx, pos[0])
		if err != nil {
			return err
		}
		out, msg = r, fmt.Sprintf("run %s %s", r.ID, r.Status)
	}
	if *f.json {
		return e.printJSON(out)
	}
	fmt.Fprintln(e.out, msg)
	return nil
}

// runsBulk replays or re-drives every run a filter selects, batch after
// batch, with the running count on stderr.
func (e env) runsBulk(ctx context.Context, verb string, args []string) error {
	f := e.flags("runs " + verb)
	status := f.String("status", "", "comma-separated statuses (replay: succeeded, failed, dead, canceled, required; re-drive: failed, dead)")
	wf := f.String("workflow", "", "only this workflow's runs (name or id)")
	after := f.String("after", "", "only runs created at or after this time (RFC 3339)")
	before := f.String("before", "", "only runs created before this time (RFC 3339; replay default: now)")
	current := f.Bool("current", false, "run each workflow's current version, not each run's own")
	batch := f.Int("batch", 500, "runs per call, 1..10000")
	cursor := f.String("cursor", "", "continue where a stopped run of this command left off (it prints the cursor)")
	if _, err := f.parse(args, 0, "runs "+verb+" --status S [--workflow W]"); err != nil {
		return err
	}
	var statuses []aias.RunStatus
	for _, s := range strings.Split(*status, ",") {
		if s = strings.TrimSpace(s); s != "" {
			statuses = append(statuses, aias.RunStatus(s))
		}
	}
	if verb == "bulk-replay" && len(statuses) == 0 {
		return usageErr("usage: aias runs bulk-replay --status succeeded|failed|dead|canceled[,…] (required)")
	}
	var from, until *time.Time
	for _, t := range []struct {
		v   string
		dst **time.Time
	}{{*after, &from}, {*before, &until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return usageErr("%q is not an RFC 3339 time", t.v)
		}
		*t.dst = &v
	}
	if verb == "bulk-replay" && until == nil {
		// Bound the range here rather than in ReplayAll, so that a resume
		// hint can repeat it: a resume bounded by its own start would
		// replay this call's replays.
		now := time.Now().UTC()
		until = &now
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var wfID string
	if *wf != "" {
		if wfID, err = workflowID(ctx, c, *wf); err != nil {
			return err
		}
	}
	version := ""
	if *current {
		version = aias.VersionCurrent
	}
	done := "re-driven"
	progress := func(t aias.BulkResult) {
		held := ""
		if t.Held != nil && *t.Held > 0 {
			held = fmt.Sprintf(" (%d held over the quota)", *t.Held)
		}
		more := ""
		if t.More {
			more = ", more to go…"
		}
		fmt.Fprintf(e.errw, "%d runs %s%s%s\n", t.Count, done, held, more)
	}
	var total aias.BulkResult
	if verb == "bulk-replay" {
		done = "replayed"
		total, err = c.ReplayAll(ctx, aias.BulkReplayRequest{Status: statuses, WorkflowID: wfID, CreatedAfter: from,
			CreatedBefore: until, Version: version, Limit: *batch, Cursor: *cursor}, progress)
	} else {
		total, err = c.RedriveAll(ctx, aias.BulkRedriveRequest{Status: statuses, WorkflowID: wfID, CreatedAfter: from,
			CreatedBefore: until, Version: version, Limit: *batch, Cursor: *cursor}, progress)
	}
	if err != nil {
		e.bulkStopped(verb, done, total, until, *batch)
		return err
	}
	if *f.json {
		return e.printJSON(total)
	}
	fmt.Fprintf(e.out, "%d runs %s\n", total.Count, done)
	return nil
}

// bulkStopped says how far a bulk command got before an error, and how to
// go on: the same flags with the cursor, and for a replay the same upper
// bound. AIAS answers a call that committed any of its batches with what
// it did, so a call that answered an error changed nothing; one whose
// answer was lost on the way (a network error) may have done part of its
// batch, and a resume would do that part again.
func (e env) bulkStopped(verb, done string, total aias.BulkResult, until *time.Time, batch int) {
	fmt.Fprintf(e.errw, "stopped after %d runs %s.\n", total.Count, done)
	if total.NextCursor == "" && total.Count == 0 {
		return
	}
	resume := "--cursor " + total.NextCursor
	if total.NextCursor == "" {
		resume = "no --cursor"
	}
	if verb == "bulk-replay" && until != nil {
		resume += " --before " + until.Format(time.RFC3339Nano)
	}
	fmt.Fprintf(e.errw, "To continue, run aias runs %s again with the same filter and %s.\n", verb, resume)
	fmt.Fprintf(e.errw, "If it failed on the network rather than with an answer from AIAS, the call may have %s up to %d\n"+
		"more runs past that point: check the audit log (run.bulk_%s) or the runs before continuing.\n", done, batch, strings.TrimPrefix(verb, "bulk-"))
}

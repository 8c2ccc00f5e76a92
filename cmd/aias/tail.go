package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"aias/pkg/aias"
)

// runWatch follows runs by polling the list the filter selects, newest
// first: a run it has not seen is new; a run it follows whose status
// changed has moved on. Each poll reads page after page until a page holds
// a run it read before, so a burst of any size between two polls is read
// whole. A followed run that is no longer among the runs read (a burst of
// newer ones, or a status filter it left) is read by id until it finishes.
type runWatch struct {
	c      *aias.Client
	filter aias.RunFilter
	seen   map[string]aias.RunStatus
	// newest is when the newest run read was created: a poll stops paging
	// at runs much older, though it met none it had seen (they all left a
	// status filter), rather than read the whole history.
	newest time.Time
}

// runEvent is a run that is new or whose status changed.
type runEvent struct {
	run aias.Run
	new bool
}

// watchPage is the page size a watch reads.
const watchPage = 100

// watchSlack is how much older than the newest run read a run may be
// created and still be looked for: a run is committed a little after it is
// created, so it may show up below runs already read.
const watchSlack = time.Minute

func newRunWatch(ctx context.Context, c *aias.Client, f aias.RunFilter) (*runWatch, error) {
	f.Limit, f.Cursor = watchPage, ""
	w := &runWatch{c: c, filter: f, seen: map[string]aias.RunStatus{}}
	p, err := c.ListRunsPage(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, r := range p.Data {
		w.seen[r.ID] = r.Status // what happened before the watch began is not news
		w.newest = later(w.newest, r.CreatedAt)
	}
	return w, nil
}

// poll returns what happened since the last poll, oldest first. An error
// leaves the watch as it was, so the next poll reports what this one could
// not.
func (w *runWatch) poll(ctx context.Context) ([]runEvent, error) {
	runs, err := w.read(ctx)
	if err != nil {
		return nil, err
	}
	var events []runEvent
	read := map[string]bool{}
	for _, r := range slices.Backward(runs) {
		read[r.ID] = true
		old, ok := w.seen[r.ID]
		if !ok || old != r.Status {
			events = append(events, runEvent{run: r, new: !ok})
		}
		w.seen[r.ID] = r.Status
		w.newest = later(w.newest, r.CreatedAt)
	}
	for id, st := range w.seen {
		if read[id] {
			continue
		}
		if st.Final() {
			delete(w.seen, id) // it will not be read again
			continue
		}
		r, err := w.c.GetRun(ctx, id)
		if err != nil {
			if aias.CodeOf(err) == aias.CodeNotFound {
				delete(w.seen, id)
				continue
			}
			return events, err
		}
		if r.Status != st {
			events = append(events, runEvent{run: r})
			w.seen[id] = r.Status
		}
	}
	return events, nil
}

// read lists the runs newest first, page after page, until a page holds a
// run seen before or runs created well before the newest one read.
func (w *runWatch) read(ctx context.Context) ([]aias.Run, error) {
	var runs []aias.Run
	f := w.filter
	for {
		p, err := w.c.ListRunsPage(ctx, f)
		if err != nil {
			return nil, err
		}
		runs = append(runs, p.Data...)
		if p.NextCursor == "" || slices.ContainsFunc(p.Data, w.known) {
			return runs, nil
		}
		f.Cursor = p.NextCursor
	}
}

// known says a run was read before, or is older than any the watch still
// has to find.
func (w *runWatch) known(r aias.Run) bool {
	if _, ok := w.seen[r.ID]; ok {
		return true
	}
	return !w.newest.IsZero() && r.CreatedAt.Before(w.newest.Add(-watchSlack))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// every calls fn each interval until ctx ends; an error of fn ends it
// unless it is a passing one (AIAS unreachable for a moment).
func every(ctx context.Context, interval time.Duration, onTransient func(error), fn func() error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := fn(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if exitCode(err) != exitUnavailable {
				return err
			}
			onTransient(err)
		}
	}
}

// runsTail is `aias runs tail`: each new run and each change of status, as
// it happens, until interrupted.
func (e env) runsTail(ctx context.Context, args []string) error {
	f := e.flags("runs tail")
	rf := addRunFilter(f)
	interval := f.Duration("interval", time.Second, "how often to poll AIAS")
	if _, err := f.parse(args, 0, "runs tail [--status S] [--workflow W] [--endpoint ID] [--interval 1s]"); err != nil {
		return err
	}
	if *interval < 100*time.Millisecond {
		return usageErr("--interval must be at least 100ms")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	filter, err := rf.filter(ctx, c)
	if err != nil {
		return err
	}
	w, err := newRunWatch(ctx, c, filter)
	if err != nil {
		return err
	}
	names := loadWorkflowNames(ctx, c)
	fmt.Fprintf(e.errw, "Following runs (polling every %s). Ctrl-C stops.\n", *interval)
	return every(ctx, *interval, e.transient, func() error {
		events, err := w.poll(ctx)
		for _, ev := range events {
			if _, ok := names[ev.run.WorkflowID]; !ok {
				names = loadWorkflowNames(ctx, c)
			}
			e.printRunEvent(ev, names, *f.json)
		}
		return err
	})
}

// transient reports a passing failure of a follow loop, which goes on.
func (e env) transient(err error) {
	fmt.Fprintf(e.errw, "%s  (AIAS did not answer: %v; still trying)\n", time.Now().Format("15:04:05"), err)
}

// tailLine is one event of runs tail --json.
type tailLine struct {
	Time       time.Time      `json:"time"`
	Event      string         `json:"event"` // "new" or "status"
	RunID      string         `json:"run_id"`
	Status     aias.RunStatus `json:"status"`
	WorkflowID string         `json:"workflow_id"`
	Workflow   string         `json:"workflow"`
	Trigger    string         `json:"trigger"`
	Attempt    int            `json:"attempt"`
	Error      *string        `json:"error"`
	Duration   string         `json:"duration,omitempty"`
}

func (e env) printRunEvent(ev runEvent, names workflowNames, asJSON bool) {
	r := ev.run
	kind := "status"
	if ev.new {
		kind = "new"
	}
	dur := ""
	if r.Status.Final() {
		dur = runDuration(r)
	}
	if asJSON {
		_ = e.printJSONLine(tailLine{Time: time.Now().UTC(), Event: kind, RunID: r.ID, Status: r.Status, WorkflowID: r.WorkflowID,
			Workflow: names[r.WorkflowID], Trigger: string(r.Trigger.Kind), Attempt: r.Attempt, Error: r.Error, Duration: dur})
		return
	}
	line := fmt.Sprintf("%s  %s  %-9s  %s  %s", time.Now().Format("15:04:05"), r.ID, r.Status, names.of(r.WorkflowID), r.Trigger.Kind)
	if ev.new {
		line += "  (new)"
	}
	if dur != "" {
		line += "  in " + dur
	}
	if r.Error != nil && *r.Error != "" {
		line += "  error: " + clip(*r.Error, 120)
	}
	fmt.Fprintln(e.out, line)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"aias/pkg/aias"
)

// trigger is `aias trigger WORKFLOW [-d JSON|@FILE|-] [--wait]`: a manual
// run with the JSON as trigger.body; with --wait, it follows the run to its
// end and exits 8 unless it succeeded.
func (e env) trigger(ctx context.Context, args []string) error {
	f := e.flags("trigger")
	data := f.String("d", "", "the trigger body: JSON, @FILE, or - for standard input (default: none)")
	wait := f.Bool("wait", false, "wait for the run to end; exit 8 unless it succeeded")
	interval := f.Duration("interval", 500*time.Millisecond, "with --wait, how often to poll")
	pos, err := f.parse(args, 1, "trigger WORKFLOW [-d JSON|@FILE|-] [--wait]")
	if err != nil {
		return err
	}
	body, err := e.triggerBody(*data)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	id, err := workflowID(ctx, c, pos[0])
	if err != nil {
		return err
	}
	var payload any
	if body != nil {
		payload = body
	}
	acc, err := c.TriggerWorkflow(ctx, id, payload)
	if err != nil {
		return err
	}
	if !*wait {
		if *f.json {
			return e.printJSON(acc)
		}
		fmt.Fprintf(e.out, "run %s %s\n", acc.RunID, acc.Status)
		return nil
	}
	fmt.Fprintf(e.errw, "run %s %s; waiting for it to end…\n", acc.RunID, acc.Status)
	r, err := waitForRun(ctx, c, acc.RunID, *interval)
	if err != nil {
		return err
	}
	if *f.json {
		err = e.printJSON(r)
	} else {
		fmt.Fprintf(e.out, "run %s %s in %s%s\n", r.ID, r.Status, runDuration(r), errorSuffix(r.Error))
	}
	if err == nil && r.Status != aias.RunSucceeded {
		return &exitError{code: exitRunFailed}
	}
	return err
}

func errorSuffix(e *string) string {
	if e == nil || *e == "" {
		return ""
	}
	return ": " + *e
}

// triggerBody reads -d: inline JSON, @file or - (stdin); nil for none.
func (e env) triggerBody(d string) (json.RawMessage, error) {
	var b []byte
	var err error
	switch {
	case d == "":
		return nil, nil
	case d == "-":
		b, err = io.ReadAll(e.in)
	case strings.HasPrefix(d, "@"):
		b, err = os.ReadFile(d[1:]) //nolint:gosec // the user names the file
	default:
		b = []byte(d)
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, usageErr("-d: the trigger body must be JSON")
	}
	return json.RawMessage(b), nil
}

// waitForRun polls a run until it ends.
func waitForRun(ctx context.Context, c *aias.Client, id string, interval time.Duration) (aias.Run, error) {
	for {
		r, err := c.GetRun(ctx, id)
		if err != nil || r.Status.Final() {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(interval):
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"aias/pkg/aias"
)

// The tenant commands (login, workflows, endpoints, runs, artifacts,
// trigger, listen) call AIAS's API through pkg/aias, as whoever the stored
// or given key is. docs/cli.md describes each, and the exit codes below.

// Exit codes that mean something to a script.
const (
	exitOK          = 0 // done
	exitFailed      = 1 // anything not below
	exitUsage       = 2 // a command or flag is wrong
	exitNotFound    = 3 // no such workflow, endpoint, run or artifact
	exitAuth        = 4 // not logged in, the key is refused, or its role is too low
	exitInvalid     = 5 // the request is invalid, or conflicts with the object's state
	exitLimit       = 6 // the plan's limit, the monthly quota or a rate limit
	exitUnavailable = 7 // AIAS cannot be reached, or answers 503
	exitRunFailed   = 8 // trigger --wait: the run ended failed, dead or canceled
	exitDiffers     = 9 // workflows diff: the file differs from the stored definition
)

// exitError carries an exit code, and a message unless the command already
// said what there was to say.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// exitCode maps an error to the process's exit code.
func exitCode(err error) int {
	var ee *exitError
	var ae *aias.Error
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ae):
		return statusExit(ae.Status)
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return exitUnavailable
	}
	return exitFailed
}

func statusExit(status int) int {
	switch status {
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return exitInvalid
	case http.StatusPaymentRequired, http.StatusTooManyRequests:
		return exitLimit
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return exitUnavailable
	}
	return exitFailed
}

// env is what a command may touch: the environment, the standard streams,
// where the user's configuration lives, and the clock's poll interval.
type env struct {
	getenv    func(string) string
	in        io.Reader
	out, errw io.Writer
	configDir func() (string, error)
}

// tenantCommands are the commands that call the API.
var tenantCommands = map[string]func(env, context.Context, []string) error{
	"login":     env.login,
	"logout":    env.logout,
	"whoami":    env.whoami,
	"workflows": env.workflows,
	"workflow":  env.workflows,
	"endpoints": env.endpoints,
	"runs":      env.runs,
	"artifacts": env.artifacts,
	"trigger":   env.trigger,
	"listen":    env.listen,
}

// credentials say where AIAS is and as whom to call it.
type credentials struct {
	URL string `json:"api_url"`
	Key string `json:"api_key"`
}

func (e env) configPath() (string, error) {
	dir, err := e.configDir()
	if err != nil {
		return "", fmt.Errorf("the user's config directory: %w", err)
	}
	return filepath.Join(dir, "aias", "config.json"), nil
}

// credentials reads the stored login, then AIAS_API_URL and AIAS_API_KEY
// over it.
func (e env) credentials() (credentials, error) {
	var c credentials
	if path, err := e.configPath(); err == nil {
		b, err := os.ReadFile(path) //nolint:gosec // the user's own config file
		if err == nil {
			if err := json.Unmarshal(b, &c); err != nil {
				return c, fmt.Errorf("%s: %w", path, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return c, err
		}
	}
	if v := e.getenv("AIAS_API_URL"); v != "" {
		c.URL = v
	}
	if v := e.getenv("AIAS_API_KEY"); v != "" {
		c.Key = v
	}
	if c.URL == "" || c.Key == "" {
		return c, &exitError{code: exitAuth, msg: "not logged in: run aias login, or set AIAS_API_URL and AIAS_API_KEY"}
	}
	return c, nil
}

// client is the API client of the stored or given credentials.
func (e env) client() (*aias.Client, error) {
	c, err := e.credentials()
	if err != nil {
		return nil, err
	}
	return newClient(c)
}

func newClient(c credentials) (*aias.Client, error) {
	return aias.New(c.URL, aias.WithAPIKey(c.Key), aias.WithUserAgent("aias-cli"), aias.WithTimeout(60*time.Second))
}

// flags is a flag set for a subcommand, with --json.
type flags struct {
	*flag.FlagSet
	json *bool
}

func (e env) flags(name string) flags {
	fs := flag.NewFlagSet("aias "+name, flag.ContinueOnError)
	fs.SetOutput(e.errw)
	return flags{FlagSet: fs, json: fs.Bool("json", false, "print JSON for scripts instead of a table")}
}

// parse reads flags wherever they are among the arguments (aias runs get
// ID --steps) and returns the others, checking their count.
func (f flags) parse(args []string, want int, usage string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: exitUsage, msg: ""} // the flag package said why
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if want >= 0 && len(pos) != want {
		return nil, usageErr("usage: aias %s", usage)
	}
	return pos, nil
}

// printJSON writes v as indented JSON.
func (e env) printJSON(v any) error {
	enc := json.NewEncoder(e.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine writes v as one line of JSON (a stream of events).
func (e env) printJSONLine(v any) error { return json.NewEncoder(e.out).Encode(v) }

// table writes aligned columns for people.
func (e env) table(header []string, rows [][]string) error {
	w := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// workflowID resolves a workflow given by id or name.
func workflowID(ctx context.Context, c *aias.Client, ref string) (string, error) {
	if _, err := uuid.Parse(ref); err == nil {
		return ref, nil
	}
	w, err := c.FindWorkflow(ctx, ref)
	if err != nil {
		return "", err
	}
	return w.ID, nil
}

// workflowNames maps workflow ids to names, for tables; a name it cannot
// learn is left out.
type workflowNames map[string]string

func loadWorkflowNames(ctx context.Context, c *aias.Client) workflowNames {
	names := workflowNames{}
	for w, err := range c.ListWorkflows(ctx, aias.ListOptions{Limit: 200}) {
		if err != nil {
			break
		}
		names[w.ID] = w.Name
	}
	return names
}

func (n workflowNames) of(id string) string {
	if name, ok := n[id]; ok {
		return name
	}
	return short(id)
}

// short is the first 8 characters of an id, as tables show it.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return clip(*s, 60)
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// runDuration is how long a run took (or has taken), "-" before it started.
func runDuration(r aias.Run) string {
	if r.StartedAt == nil {
		return "-"
	}
	end := time.Now()
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return end.Sub(*r.StartedAt).Round(time.Millisecond).String()
}

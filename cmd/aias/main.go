// Command aias is AIAS's CLI. For tenants it works through the API
// (pkg/aias): login, workflows, endpoints, runs, artifacts, trigger and
// listen (docs/cli.md). For operators it works on the database and the
// programs: migrate, tenants, keys, every role in one process for
// development (aias dev), the benchmark and the fault suite.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/google/uuid"

	"aias/internal/app"
	"aias/internal/audit"
	"aias/internal/auth"
	"aias/internal/config"
	"aias/internal/keyring"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/secret"
	"aias/internal/seed"
	"aias/internal/tenant"
	"aias/internal/webhook"
)

const usage = `aias — the CLI of AIAS (docs/cli.md)

Tenants (through the API, as the key aias login stored, or AIAS_API_URL and AIAS_API_KEY):
  aias login [--url URL] [--key KEY]   check a key and store it in the user's config directory (0600)
  aias logout | aias whoami            forget the key | show its tenant, role, plan and usage
  aias workflows ls|get|apply|diff|validate     definitions (apply -f FILE creates or versions by name)
  aias endpoints ls|get|create|rotate|delete    webhook endpoints
  aias runs ls|get|tail|replay|redrive|cancel|bulk-replay|bulk-redrive
  aias artifacts ls RUN | get ID -o FILE
  aias trigger WORKFLOW [-d @payload.json] [--wait]   a manual run
  aias listen --forward URL [--endpoint ID]           send each delivery on to a local server
  Add --json for scripts. Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 auth,
  5 invalid or conflict, 6 plan limit or quota, 7 unavailable, 8 run did not succeed, 9 diff found.

Operators:
  aias migrate                         apply pending database migrations (as the schema owner)
  aias dev                             migrate, seed the demo tenant, run ingress + worker + scheduler
  aias seed [-target URL]              create or refresh the demo tenant and print curl lines for it
  aias tenant create -email E -name N  create a tenant and print its owner API key
  aias apikey create -tenant T -name N -role R   mint an API key for a tenant (operator)
  aias user reset-link -email E        print a one-time password reset link for a person (operator)
  aias keys generate                   print a new key-encryption key for AIAS_ENCRYPTION_KEYS
  aias secrets rewrap                  move every sealed secret to the primary key (as the schema owner)
  aias chaos [-only 1,5] [-doc FILE]   the fault-injection suite against ./bin (docs/reliability.md)
  aias bench [-json FILE]              measure AIAS against this machine's floor (docs/benchmarks.md)
  aias help                            this text and the environment variables

`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := env{getenv: os.Getenv, in: os.Stdin, out: os.Stdout, errw: os.Stderr, configDir: os.UserConfigDir}
	err := e.run(ctx, os.Args[1:])
	stop()
	if msg := errorLine(err); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(exitCode(err))
}

// errorLine is how an error is printed: after "aias: ", once. The client's
// errors carry that prefix already, so it is not added twice.
func errorLine(err error) string {
	if err == nil || err.Error() == "" {
		return ""
	}
	if msg := err.Error(); strings.HasPrefix(msg, "aias: ") {
		return msg
	}
	return "aias: " + err.Error()
}

// run is the operator commands' entry with the standard streams left out.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	noConfig := func() (string, error) { return "", errors.New("no config directory") }
	return env{getenv: getenv, in: strings.NewReader(""), out: out, errw: io.Discard, configDir: noConfig}.run(ctx, args)
}

func (e env) run(ctx context.Context, args []string) error {
	getenv, out := e.getenv, e.out
	if len(args) > 0 {
		if cmd, ok := tenantCommands[args[0]]; ok {
			return cmd(e, ctx, args[1:])
		}
	}
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return usageErr("a command is required")
	}
	switch args[0] {
	case "migrate":
		return migrate(ctx, getenv, out)
	case "dev":
		return dev(ctx, getenv, out)
	case "seed":
		return seedCmd(ctx, args[1:], getenv, out)
	case "tenant":
		return tenantCmd(ctx, args[1:], getenv, out)
	case "apikey":
		return apikeyCmd(ctx, args[1:], getenv, out)
	case "user":
		return userCmd(ctx, args[1:], getenv, out)
	case "chaos":
		return chaosCmd(ctx, args[1:], getenv, out)
	case "secrets":
		if len(args) < 2 || args[1] != "rewrap" {
			return usageErr("usage: aias secrets rewrap")
		}
		return rewrap(ctx, getenv, out)
	case "keys":
		if len(args) < 2 || args[1] != "generate" {
			return usageErr("usage: aias keys generate")
		}
		fmt.Fprintln(out, keyring.Generate())
		return nil
	case "bench":
		return benchCmd(ctx, args[1:], getenv, out)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage+config.Help())
		return nil
	}
	fmt.Fprint(e.errw, usage)
	return usageErr("unknown command %q", args[0])
}

func migrate(ctx context.Context, getenv func(string) string, out io.Writer) error {
	cfg, err := config.Load(getenv, config.RoleMigrate)
	if err != nil {
		return err
	}
	n, err := postgres.Migrate(ctx, cfg.MigrateDatabaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "applied %d migration(s)\n", n)
	return nil
}

func tenantCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	email := fs.String("email", "", "owner's email")
	name := fs.String("name", "", "tenant name")
	if len(args) == 0 || args[0] != "create" {
		return usageErr("usage: aias tenant create -email E -name N")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, config.RoleMigrate)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	s, err := tenant.Create(ctx, db, *email, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tenant_id: %s\nuser_id:   %s\napi_key:   %s   (shown once)\n", s.TenantID, s.UserID, s.APIKey)
	return nil
}

// dev is every role in one process on the local services, with a seeded
// demo tenant, copy-paste curl lines and the queue dashboard open.
func dev(ctx context.Context, getenv func(string) string, out io.Writer) error {
	cfg, err := config.Load(devDefaults(getenv), config.RoleDev)
	if err != nil {
		return err
	}
	log := logging.New(out, cfg.Parsed.Log)
	if _, err := postgres.Migrate(ctx, cfg.MigrateDatabaseURL); err != nil {
		return err
	}
	demo, err := seedDemo(ctx, cfg, "")
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	password, err := demoLogin(ctx, a)
	if err != nil {
		return fmt.Errorf("demo login: %w", err)
	}
	fmt.Fprintln(out, "\nAIAS is running (ingress, worker and scheduler in one process). Ctrl-C stops it.")
	printConsole(out, cfg.PublicURL, password)
	printDemo(out, cfg.PublicURL, demo)
	printDashboard(out, cfg, getenv("AIAS_OPERATOR_TOKEN") != "")
	return a.Serve(ctx, config.RoleDev, ln)
}

// demoLogin gives the demo tenant's owner (seed.DemoEmail) a fresh
// password for the console, through the same one-time reset link an
// operator makes (aias user reset-link), and returns it.
func demoLogin(ctx context.Context, a *app.App) (string, error) {
	accounts := a.Accounts(a.Log)
	link, err := accounts.CreateResetLink(ctx, seed.DemoEmail)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	password := base64.RawURLEncoding.EncodeToString(b)
	if err := accounts.ResetPassword(ctx, u.Query().Get("token"), password); err != nil {
		return "", err
	}
	return password, nil
}

// printConsole says where the console is and how to log in to it.
func printConsole(out io.Writer, base, password string) {
	fmt.Fprintf(out, `
Open the console and log in as %s with the password %s (new at every start):

  %s/

`, seed.DemoEmail, password, strings.TrimRight(base, "/"))
}

// devDefaults is getenv with what a developer's session wants unless the
// environment says otherwise: signup open (the README's walk-through
// starts with it) and a fresh operator token, so the queue dashboard is on.
func devDefaults(getenv func(string) string) func(string) string {
	defaults := map[string]string{
		"AIAS_SIGNUP_ENABLED": "true",
		"AIAS_OPERATOR_TOKEN": newOperatorToken(),
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}
}

// newOperatorToken is 32 random bytes, URL-safe: long enough for
// production's rule too.
func newOperatorToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// printDashboard says where the queue dashboard is and how to log in: a
// browser asks for a user and a password (any user; the token), scripts
// send the token as a Bearer token. A token the developer set is not
// echoed.
func printDashboard(out io.Writer, cfg config.Config, given bool) {
	if cfg.MetricsAddr == "" {
		fmt.Fprint(out, "The queue dashboard is off: AIAS_METRICS_ADDR is off.\n\n")
		return
	}
	ops := "http://" + localAddr(cfg.MetricsAddr)
	password, bearer := cfg.OperatorToken, cfg.OperatorToken
	if given {
		password, bearer = "your AIAS_OPERATOR_TOKEN", "$AIAS_OPERATOR_TOKEN" //nolint:gosec // names of a variable, not a credential
	}
	fmt.Fprintf(out, `Open the queue dashboard (any user name, password %s):

  %s/admin/queues

or ask its API with the token as a Bearer token:

  curl -sS -H "Authorization: Bearer %s" '%s/admin/queues/api/queues'

Metrics: %s/metrics

`, password, ops, bearer, ops, ops)
}

// localAddr is addr with a host a local browser can open: a listener on
// every interface (":9091", "0.0.0.0:9091") is reached on 127.0.0.1.
func localAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// seedCmd is `aias seed`: the demo tenant on a running installation (the
// compose file runs it once after the migration).
func seedCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	target := fs.String("target", "", "URL at which workers reach the ingress (default: AIAS_PUBLIC_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, config.RoleMigrate)
	if err != nil {
		return err
	}
	demo, err := seedDemo(ctx, cfg, *target)
	if err != nil {
		return err
	}
	printDemo(out, cfg.PublicURL, demo)
	return nil
}

func seedDemo(ctx context.Context, cfg config.Config, target string) (seed.Demo, error) {
	owner, err := postgres.Open(ctx, cfg.MigrateDatabaseURL, 2)
	if err != nil {
		return seed.Demo{}, err
	}
	defer func() { _ = owner.Close() }()
	return seed.Install(ctx, owner, cfg.PublicURL, target)
}

func printDemo(out io.Writer, base string, d seed.Demo) {
	fmt.Fprintf(out, `
Demo tenant %s, workflow "demo-order", API key %s

Post a webhook to the demo endpoint:

  curl -sS -X POST '%s' -H 'Content-Type: application/json' -d '{"order":{"id":"A-1001","total":120}}'

Show the latest run with its steps:

  curl -sS -H 'Authorization: Bearer %s' '%s/api/v1/runs?limit=1&expand=steps'

`, d.TenantID, d.APIKey, d.WebhookURL, d.APIKey, base)
}

func apikeyCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	tenantID := fs.String("tenant", "", "tenant id")
	name := fs.String("name", "", "key name")
	role := fs.String("role", "member", "owner, admin, member or viewer")
	if len(args) == 0 || args[0] != "create" {
		return usageErr("usage: aias apikey create -tenant T -name N -role R")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	tid, err := uuid.Parse(*tenantID)
	if err != nil {
		return errors.New("-tenant must be a tenant id")
	}
	cfg, err := config.Load(getenv, config.RoleMigrate)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	var k auth.APIKey
	var key string
	err = db.InTenantTx(ctx, tid, func(q postgres.Querier) (err error) {
		if k, key, err = auth.Mint(ctx, q, tid, auth.Owner, auth.NewAPIKey{Name: *name, Role: auth.Role(*role)}); err != nil {
			return err
		}
		return audit.Record(ctx, q, tid, uuid.Nil, "api_key.create", "api_key", k.ID.String(), "cli")
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "api_key_id: %s\nrole:       %s\napi_key:    %s   (shown once)\n", k.ID, k.Role, key)
	return nil
}

// rewrap moves every sealed value to the primary key; run it after putting a
// new key first in AIAS_ENCRYPTION_KEYS, then drop the old key.
func rewrap(ctx context.Context, getenv func(string) string, out io.Writer) error {
	cfg, err := config.Load(getenv, config.RoleMigrate)
	if err != nil {
		return err
	}
	keys, err := keyring.Parse(cfg.EncryptionKeys)
	if err != nil {
		return fmt.Errorf("AIAS_ENCRYPTION_KEYS: %w", err)
	}
	owner, err := postgres.Open(ctx, cfg.MigrateDatabaseURL, 2)
	if err != nil {
		return err
	}
	defer func() { _ = owner.Close() }()
	n, err := secret.Rewrap(ctx, owner, keys)
	if err != nil {
		return err
	}
	m, err := webhook.RewrapSecrets(ctx, owner, keys)
	if err != nil {
		return err
	}
	cb, err := secret.RewrapCallbackSecrets(ctx, owner, keys)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rewrapped %d integration secret(s) and %d signing secret(s) to key %s\n", n, m+cb, keys.Primary())
	return nil
}

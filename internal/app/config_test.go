package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aias/internal/app"
	"aias/internal/config"
	"aias/internal/logging"
)

// The plans file is read once, by config.Load: the app is built from the
// catalogue Load parsed, so a file gone (or changed) since then does not
// matter, and a program never holds two catalogues.
func TestTheAppUsesThePlansLoadParsedWithoutReadingTheFileAgain(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	file := filepath.Join(t.TempDir(), "plans.yaml")
	const plans = `
default: solo
plans:
  - name: solo
    limits: {workflows: 1, webhook_endpoints: 1, runs_per_month: 10, steps_per_workflow: 5, max_payload_bytes: 65536,
             artifact_bytes_per_month: 1024, retention_days: 1, concurrency: 1, held_runs: 0}
`
	if err := os.WriteFile(file, []byte(plans), 0o600); err != nil {
		t.Fatal(err)
	}
	env := s.env(map[string]string{"AIAS_PLANS_FILE": file})
	cfg, err := config.Load(func(k string) string { return env[k] }, config.RoleDev)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logging.Nop())
	if err != nil {
		t.Fatalf("app.New after the plans file was removed = %v, want the catalogue Load parsed", err)
	}
	defer a.Close()
	if got := a.Plans.Default().Name; got != "solo" {
		t.Errorf("the app's default plan = %q, want the file's solo", got)
	}
	if a.Keys != cfg.Parsed.Keys {
		t.Error("the app's keyring is not the one Load parsed")
	}
}

// A Config made by hand, without Load, has nothing parsed: the app says so
// rather than starting on no plans.
func TestTheAppRefusesAConfigurationLoadDidNotParse(t *testing.T) {
	t.Parallel()
	_, err := app.New(context.Background(), config.Config{DatabaseURL: "postgres://127.0.0.1:1/x"}, logging.Nop())
	if err == nil || !strings.Contains(err.Error(), "config.Load") {
		t.Errorf("app.New(a Config not from Load) = %v, want an error naming config.Load", err)
	}
}

// What a role does not use it neither checks nor parses, at Load or after:
// an ingress starts with an egress allow-list only a worker would read.
func TestAnIngressStartsWhateverTheEgressSettingsItDoesNotUse(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	env := s.env(map[string]string{"AIAS_EGRESS_ALLOW": "not a cidr", "AIAS_EGRESS_ALLOW_PORTS": "80,postgres"})
	cfg, err := config.Load(func(k string) string { return env[k] }, config.RoleIngress)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logging.Nop())
	if err != nil {
		t.Fatalf("app.New(an ingress with a worker's malformed egress settings) = %v, want it built", err)
	}
	a.Close()
}

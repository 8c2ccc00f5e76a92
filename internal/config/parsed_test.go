package config_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"aias/internal/config"
	"aias/internal/ratelimit"
)

// Load parses what needs parsing once, while validating it, and hands the
// results on: the programs are built from Parsed, never from the strings.
func TestLoadReturnsTheParsedSettings(t *testing.T) {
	t.Parallel()
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
	env := with(valid(), "AIAS_PLANS_FILE", file, "AIAS_EGRESS_ALLOW", "10.1.0.0/16", "AIAS_EGRESS_ALLOW_PORTS", "443,8080",
		"AIAS_HTTP_STEP_MAX_TIMEOUT", "7s", "AIAS_TRUSTED_PROXIES", "192.0.2.0/24, 198.51.100.7/32",
		"AIAS_RATE_LIMIT_IP_PER_SECOND", "3", "AIAS_RATE_LIMIT_IP_BURST", "4", "AIAS_SIGNUP_RATE_PER_HOUR", "2",
		"AIAS_LOG_LEVEL", "warn", "AIAS_LOG_FORMAT", "pretty")
	got, err := config.Load(getenv(env), config.RoleDev)
	if err != nil {
		t.Fatalf("Load(%v) error = %v, want nil", env, err)
	}
	p := got.Parsed
	if d := p.Plans.Default(); d.Name != "solo" || d.Limits.RunsPerMonth != 10 {
		t.Errorf("Parsed.Plans.Default() = %s with %d runs a month, want the file's solo with 10", d.Name, d.Limits.RunsPerMonth)
	}
	if p.Keys == nil || len(p.Keys.IDs()) != 1 {
		t.Errorf("Parsed.Keys = %v, want the one key of AIAS_ENCRYPTION_KEYS", p.Keys)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}; !slices.Equal(p.Egress.Allow, want) {
		t.Errorf("Parsed.Egress.Allow = %v, want %v", p.Egress.Allow, want)
	}
	if want := []uint16{443, 8080}; !slices.Equal(p.Egress.AllowPorts, want) || p.Egress.Total != 7*time.Second {
		t.Errorf("Parsed.Egress = ports %v, total %s; want %v, 7s", p.Egress.AllowPorts, p.Egress.Total, want)
	}
	if len(p.TrustedProxies) != 2 || p.TrustedProxies[1].String() != "198.51.100.7/32" {
		t.Errorf("Parsed.TrustedProxies = %v, want 192.0.2.0/24 and 198.51.100.7/32", p.TrustedProxies)
	}
	if want := ratelimit.PerSecond(3, 4); p.IPLimit != want {
		t.Errorf("Parsed.IPLimit = %+v, want %+v", p.IPLimit, want)
	}
	if want := (ratelimit.Limit{Rate: 2, Burst: 2, Period: time.Hour}); p.SignupLimit != want {
		t.Errorf("Parsed.SignupLimit = %+v, want %+v", p.SignupLimit, want)
	}
	if p.Log.Level != "warn" || !p.Log.Pretty {
		t.Errorf("Parsed.Log = %+v, want level warn, pretty", p.Log)
	}
}

// Without AIAS_PLANS_FILE the catalogue is the built-in one: Parsed.Plans
// is never nil after Load, whatever the role.
func TestLoadWithoutAPlansFileParsesTheBuiltInCatalogue(t *testing.T) {
	t.Parallel()
	for _, role := range []config.Role{config.RoleMigrate, config.RoleScheduler} {
		got, err := config.Load(getenv(valid()), role)
		if err != nil {
			t.Fatalf("Load(role %d) error = %v, want nil", role, err)
		}
		if got.Parsed.Plans == nil {
			t.Fatalf("Load(role %d).Parsed.Plans = nil, want the built-in catalogue", role)
		}
		if _, ok := got.Parsed.Plans.Get("pro"); !ok {
			t.Errorf("Load(role %d).Parsed.Plans has no pro plan, want the built-in free, pro and business", role)
		}
	}
}

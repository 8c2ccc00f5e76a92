package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"aias/internal/config"
	"aias/internal/keyring"
)

// getenv returns a fake os.Getenv backed by m.
func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// valid is the smallest environment that passes validation for every role.
// testKeys is a fresh key: production refuses any key written in the
// repository (published.go), a test's included.
var testKeys = keyring.Generate()

func valid() map[string]string {
	return map[string]string{"DATABASE_URL": "postgres://app@db.internal:5432/aias", "AIAS_ENCRYPTION_KEYS": testKeys}
}

func with(base map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestLoadAppliesDefaults(t *testing.T) {
	t.Parallel()
	got, err := config.Load(getenv(valid()), config.RoleDev)
	if err != nil {
		t.Fatalf("Load(minimal env) error = %v, want nil", err)
	}
	want := config.Config{
		Env:                   "production",
		DatabaseURL:           "postgres://app@db.internal:5432/aias",
		MigrateDatabaseURL:    "postgres://app@db.internal:5432/aias",
		DBMaxConns:            20,
		RedisURL:              "redis://127.0.0.1:6379/0",
		LogLevel:              "info",
		LogFormat:             "json",
		OTelExporter:          "none",
		EncryptionKeys:        testKeys,
		SMTPPort:              587,
		MetricsAddr:           ":9091",
		HTTPAddr:              ":8080",
		PublicURL:             "http://127.0.0.1:8080",
		MaxBodyBytes:          1 << 20,
		MaxBodyLimit:          25 << 20,
		SignupRatePerHour:     5,
		TestRatePerMinute:     30,
		ShutdownTimeout:       15 * time.Second,
		ReadHeaderTimeout:     5 * time.Second,
		RequestTimeout:        30 * time.Second,
		DBConnWait:            time.Second,
		BodyTimeout:           10 * time.Second,
		EnqueueBudget:         200 * time.Millisecond,
		GroupCommit:           32,
		GroupCommitFlushers:   1,
		RateIPPerSecond:       100,
		RateIPBurst:           200,
		RateEndpointPerSecond: 50,
		RateEndpointBurst:     100,
		EndpointCacheTTL:      time.Second,
		WorkerConcurrency:     10,
		WorkerShutdownTimeout: 25 * time.Second,
		RetryBase:             2 * time.Second,
		RetryMax:              10 * time.Minute,
		RunHeartbeat:          2 * time.Second,
		HTTPStepTimeout:       60 * time.Second,
		EgressAllowPorts:      "80,443",
		BillingGrace:          72 * time.Hour,
		SweepInterval:         10 * time.Second,
		SweepQueuedGrace:      15 * time.Second,
		SweepRunningStale:     5 * time.Minute,
		ReclaimAfter:          6 * time.Second,
		ReclaimInterval:       2 * time.Second,
		SchedulerLeaseTTL:     15 * time.Second,
		ScheduleMissedAfter:   time.Minute,
	}
	// Parsed holds built values (a catalogue, a keyring); its own test below.
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(config.Config{}, "Parsed")); diff != "" {
		t.Errorf("Load(minimal env) mismatch (-want +got):\n%s", diff)
	}
	if got.Dev() {
		t.Errorf("Load(minimal env).Dev() = true, want false (default AIAS_ENV is production)")
	}
}

func TestLoadReadsEveryVariableThroughGetenv(t *testing.T) {
	t.Parallel()
	env := with(valid(),
		"AIAS_ENV", "dev",
		"AIAS_DB_MAX_CONNS", "7",
		"REDIS_URL", "rediss://cache.internal:6380/2",
		"AIAS_LOG_LEVEL", "debug",
		"AIAS_LOG_FORMAT", "pretty",
		"AIAS_SIGNUP_ENABLED", "true",
		"AIAS_SHUTDOWN_TIMEOUT", "3s",
		"AIAS_WORKER_CONCURRENCY", "4",
	)
	got, err := config.Load(getenv(env), config.RoleDev)
	if err != nil {
		t.Fatalf("Load(%v) error = %v, want nil", env, err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Env", got.Env, "dev"},
		{"Dev()", got.Dev(), true},
		{"DBMaxConns", got.DBMaxConns, 7},
		{"RedisURL", got.RedisURL, "rediss://cache.internal:6380/2"},
		{"LogLevel", got.LogLevel, "debug"},
		{"LogFormat", got.LogFormat, "pretty"},
		{"SignupEnabled", got.SignupEnabled, true},
		{"ShutdownTimeout", got.ShutdownTimeout, 3 * time.Second},
		{"WorkerConcurrency", got.WorkerConcurrency, 4},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("Load(...).%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		// DATABASE_URL deliberately missing.
		"REDIS_URL":               "http://127.0.0.1:6379/0",
		"AIAS_LOG_LEVEL":          "verbose",
		"AIAS_WORKER_CONCURRENCY": "0",
	}
	_, err := config.Load(getenv(env), config.RoleDev)
	if err == nil {
		t.Fatalf("Load(%v) error = nil, want one error naming every problem", env)
	}
	msg := err.Error()
	for _, want := range []string{
		"DATABASE_URL is required",
		"REDIS_URL: scheme must be redis or rediss or redis-sentinel or redis-cluster",
		`AIAS_LOG_LEVEL must be debug, info, warn or error, got "verbose"`,
		"AIAS_WORKER_CONCURRENCY must be >= 1, got 0",
		"AIAS_ENCRYPTION_KEYS is required",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Load(%v) error = %q, want it to contain %q", env, msg, want)
		}
	}
	// One line per problem after the "configuration:" header.
	if got, want := strings.Count(msg, "\n"), 5; got != want {
		t.Errorf("Load(%v) error has %d line breaks, want %d (one problem per line):\n%s", env, got, want, msg)
	}
}

func TestValidateChecksOnlyWhatTheRoleNeeds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		role    config.Role
		wantErr string // "" means Load must succeed
	}{
		{"worker concurrency ignored by ingress", with(valid(), "AIAS_WORKER_CONCURRENCY", "0"), config.RoleIngress, ""},
		{"worker concurrency checked by worker", with(valid(), "AIAS_WORKER_CONCURRENCY", "0"), config.RoleWorker, "AIAS_WORKER_CONCURRENCY"},
		{"worker concurrency checked by dev", with(valid(), "AIAS_WORKER_CONCURRENCY", "0"), config.RoleDev, "AIAS_WORKER_CONCURRENCY"},
		{"retry base above max ignored by scheduler", with(valid(), "AIAS_RETRY_BASE", "1h", "AIAS_RETRY_MAX", "1m"), config.RoleScheduler, ""},
		{"retry base above max checked by worker", with(valid(), "AIAS_RETRY_BASE", "1h", "AIAS_RETRY_MAX", "1m"), config.RoleWorker, "AIAS_RETRY_BASE"},
		{"zero retry base checked by worker", with(valid(), "AIAS_RETRY_BASE", "0s"), config.RoleWorker, "AIAS_RETRY_BASE"},
		{"public URL ignored by worker", with(valid(), "AIAS_PUBLIC_URL", "ftp://example.com"), config.RoleWorker, ""},
		{"public URL checked by ingress", with(valid(), "AIAS_PUBLIC_URL", "ftp://example.com"), config.RoleIngress, "AIAS_PUBLIC_URL: scheme must be http or https"},
		{"public URL without host", with(valid(), "AIAS_PUBLIC_URL", "https://"), config.RoleIngress, "AIAS_PUBLIC_URL: host is missing"},
		{"body limit ignored by scheduler", with(valid(), "AIAS_MAX_BODY_BYTES", "10"), config.RoleScheduler, ""},
		{"body limit too small for ingress", with(valid(), "AIAS_MAX_BODY_BYTES", "1023"), config.RoleIngress, "AIAS_MAX_BODY_BYTES"},
		{"body limit too large for ingress", with(valid(), "AIAS_MAX_BODY_BYTES", "26214401"), config.RoleIngress, "AIAS_MAX_BODY_BYTES"},
		{"body limit at upper bound", with(valid(), "AIAS_MAX_BODY_BYTES", "26214400"), config.RoleIngress, ""},
		{"sweep interval ignored by worker", with(valid(), "AIAS_SWEEP_INTERVAL", "0s"), config.RoleWorker, ""},
		{"sweep interval checked by scheduler", with(valid(), "AIAS_SWEEP_INTERVAL", "0s"), config.RoleScheduler, "AIAS_SWEEP_INTERVAL"},
		{"redis ignored by migrate", with(valid(), "REDIS_URL", "http://x"), config.RoleMigrate, ""},
		{"redis checked by scheduler", with(valid(), "REDIS_URL", "http://x"), config.RoleScheduler, "REDIS_URL"},
		{"redis without host", with(valid(), "REDIS_URL", "redis://"), config.RoleWorker, "REDIS_URL: host is missing"},
		{"sentinel without master", with(valid(), "REDIS_URL", "redis-sentinel://10.0.0.1:26379/0"), config.RoleIngress, "REDIS_URL: a redis-sentinel URL needs ?master="},
		{"sentinel with master", with(valid(), "REDIS_URL", "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/0?master=aias"), config.RoleWorker, ""},
		{"migrate URL ignored by ingress", with(valid(), "AIAS_MIGRATE_DATABASE_URL", "mysql://db/x"), config.RoleIngress, ""},
		{"migrate URL checked by migrate", with(valid(), "AIAS_MIGRATE_DATABASE_URL", "mysql://db/x"), config.RoleMigrate, "AIAS_MIGRATE_DATABASE_URL: scheme must be postgres or postgresql"},
		{"database URL checked by every role", with(valid(), "DATABASE_URL", "mysql://db/x"), config.RoleScheduler, "DATABASE_URL: scheme must be postgres or postgresql"},
		{"database URL required by migrate", map[string]string{}, config.RoleMigrate, "DATABASE_URL is required"},
		{"postgresql scheme accepted", with(valid(), "DATABASE_URL", "postgresql://db/x"), config.RoleDev, ""},
		{"unknown env checked by every role", with(valid(), "AIAS_ENV", "staging"), config.RoleMigrate, `AIAS_ENV must be dev or production, got "staging"`},
		{"log format checked by every role", with(valid(), "AIAS_LOG_FORMAT", "xml"), config.RoleMigrate, "AIAS_LOG_FORMAT"},
		{"max conns checked by every role", with(valid(), "AIAS_DB_MAX_CONNS", "1"), config.RoleMigrate, "AIAS_DB_MAX_CONNS must be >= 2, got 1"},
		{"negative signup rate checked by ingress", with(valid(), "AIAS_SIGNUP_RATE_PER_HOUR", "-1"), config.RoleIngress, "AIAS_SIGNUP_RATE_PER_HOUR must be >= 0, got -1"},
		{"negative group commit checked by ingress", with(valid(), "AIAS_INTAKE_GROUP_COMMIT", "-1"), config.RoleIngress, "AIAS_INTAKE_GROUP_COMMIT must be >= 0"},
		{"no group commit flusher", with(valid(), "AIAS_INTAKE_GROUP_COMMIT_FLUSHERS", "0"), config.RoleIngress, "AIAS_INTAKE_GROUP_COMMIT_FLUSHERS >= 1"},
		{"group commit off", with(valid(), "AIAS_INTAKE_GROUP_COMMIT", "0"), config.RoleIngress, ""},
		{"signup rate ignored by worker", with(valid(), "AIAS_SIGNUP_RATE_PER_HOUR", "-1"), config.RoleWorker, ""},
		{"no signup limit", with(valid(), "AIAS_SIGNUP_RATE_PER_HOUR", "0"), config.RoleIngress, ""},
		{"egress ports checked by worker", with(valid(), "AIAS_EGRESS_ALLOW_PORTS", "80,postgres"), config.RoleWorker, `AIAS_EGRESS_ALLOW_PORTS: safehttp: port "postgres"`},
		{"egress port 0 checked by worker", with(valid(), "AIAS_EGRESS_ALLOW_PORTS", "0"), config.RoleWorker, "AIAS_EGRESS_ALLOW_PORTS"},
		{"egress ports ignored by ingress", with(valid(), "AIAS_EGRESS_ALLOW_PORTS", "80,postgres"), config.RoleIngress, ""},
		{"every egress port", with(valid(), "AIAS_EGRESS_ALLOW_PORTS", "*"), config.RoleWorker, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(getenv(tt.env), tt.role)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Load(%v, role %d) error = %v, want nil", tt.env, tt.role, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("Load(%v, role %d) error = nil, want an error containing %q", tt.env, tt.role, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Load(%v, role %d) error = %q, want it to contain %q", tt.env, tt.role, err, tt.wantErr)
			}
		})
	}
}

func TestRoleServes(t *testing.T) {
	t.Parallel()
	roles := []config.Role{config.RoleIngress, config.RoleWorker, config.RoleScheduler, config.RoleMigrate}
	for _, r := range roles {
		if !config.RoleDev.Serves(r) {
			t.Errorf("RoleDev.Serves(%d) = false, want true", r)
		}
		if r.Serves(config.RoleDev) {
			t.Errorf("Role(%d).Serves(RoleDev) = true, want false", r)
		}
		for _, o := range roles {
			if got, want := r.Serves(o), r == o; got != want {
				t.Errorf("Role(%d).Serves(%d) = %v, want %v", r, o, got, want)
			}
		}
	}
}

func TestLoadStopsOnMalformedValuesNamingTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		variable, value string
	}{
		{"AIAS_SHUTDOWN_TIMEOUT", "soon"},
		{"AIAS_RETRY_MAX", "10"}, // a duration needs a unit
		{"AIAS_DB_MAX_CONNS", "many"},
		{"AIAS_WORKER_CONCURRENCY", "1.5"},
		{"AIAS_MAX_BODY_BYTES", "1MB"},
		{"AIAS_SIGNUP_ENABLED", "perhaps"},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			t.Parallel()
			env := with(valid(), tt.variable, tt.value)
			_, err := config.Load(getenv(env), config.RoleDev)
			if err == nil {
				t.Fatalf("Load(%s=%q) error = nil, want a parse error", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("Load(%s=%q) error = %q, want it to name %s", tt.variable, tt.value, err, tt.variable)
			}
		})
	}
}

// An empty AIAS_METRICS_ADDR is unset, so the default applies; "off" turns
// the ops listener off.
func TestMetricsAddrOffTurnsTheOpsListenerOff(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]string{"": ":9091", "off": "", "127.0.0.1:9100": "127.0.0.1:9100"} {
		got, err := config.Load(getenv(with(valid(), "AIAS_METRICS_ADDR", value)), config.RoleWorker)
		if err != nil || got.MetricsAddr != want {
			t.Errorf("Load(AIAS_METRICS_ADDR=%q).MetricsAddr = %q, %v, want %q", value, got.MetricsAddr, err, want)
		}
	}
}

func TestLoadMigrateDatabaseURLDefaultsToDatabaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset", valid(), "postgres://app@db.internal:5432/aias"},
		{"set", with(valid(), "AIAS_MIGRATE_DATABASE_URL", "postgres://owner@db.internal/aias"), "postgres://owner@db.internal/aias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.Load(getenv(tt.env), config.RoleMigrate)
			if err != nil {
				t.Fatalf("Load(%v) error = %v, want nil", tt.env, err)
			}
			if got.MigrateDatabaseURL != tt.want {
				t.Errorf("Load(%v).MigrateDatabaseURL = %q, want %q", tt.env, got.MigrateDatabaseURL, tt.want)
			}
		})
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	t.Parallel()
	help := config.Help()
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "-" { // Parsed: what Load made of the others
			continue
		}
		if name == "" {
			t.Errorf("Config.%s has no env tag", f.Name)
			continue
		}
		text := f.Tag.Get("help")
		if strings.TrimSpace(text) == "" {
			t.Errorf("Config.%s (%s) has an empty help tag", f.Name, name)
		}
		if !strings.Contains(help, name) {
			t.Errorf("Help() does not list %s", name)
		}
		if text != "" && !strings.Contains(help, text) {
			t.Errorf("Help() does not show the help of %s (%q)", name, text)
		}
		if def := f.Tag.Get("envDefault"); def != "" && !strings.Contains(help, "default: "+def+"\n") {
			t.Errorf("Help() does not show the default of %s (%q)", name, def)
		}
	}
}

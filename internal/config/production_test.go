package config_test

import (
	"strings"
	"testing"

	"aias/internal/config"
	"aias/internal/keyring"
)

// Keys written in the repository, under the ids they were published with
// and under others: what is refused is the key, not its name.
const (
	makefileKey = "dev1:ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE="
	composeKey  = "compose1:Y29tcG9zZS1vbmx5LWtleS1uZXZlci1pbi1wcm9kISE="
	renamedKey  = "prod:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  // the tests' key, renamed and unpadded
	urlSafeKey  = "prod2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4" // the rewrap tests' second key
)

// wantLoad checks that Load of env for role succeeds (wantErr "") or fails
// naming wantErr.
func wantLoad(t *testing.T, env map[string]string, role config.Role, wantErr string) {
	t.Helper()
	_, err := config.Load(getenv(env), role)
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("Load(%v, role %d) error = %v, want nil", env, role, err)
	case wantErr != "" && err == nil:
		t.Errorf("Load(%v, role %d) error = nil, want an error containing %q", env, role, wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("Load(%v, role %d) error = %q, want it to contain %q", env, role, err, wantErr)
	}
}

func TestProductionRefusesAnEncryptionKeyPublishedInTheRepository(t *testing.T) {
	t.Parallel()
	fresh := keyring.Generate()
	tests := []struct {
		name    string
		keys    string
		role    config.Role
		wantErr string
	}{
		{"the Makefile's key", makefileKey, config.RoleIngress, `key "dev1" is published in the AIAS repository`},
		{"docker-compose.yml's key", composeKey, config.RoleWorker, `key "compose1" is published`},
		{"a test's key under another id", renamedKey, config.RoleDev, `key "prod" is published`},
		{"a published key kept to decrypt", fresh + "," + urlSafeKey, config.RoleWorker, `then remove "prod2"`},
		{"a fresh key", fresh, config.RoleDev, ""},
		{"the scheduler holds no keys", makefileKey, config.RoleScheduler, ""},
		{"aias secrets rewrap moves secrets off a published key", fresh + "," + makefileKey, config.RoleMigrate, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantLoad(t, with(valid(), "AIAS_ENCRYPTION_KEYS", tt.keys), tt.role, tt.wantErr)
		})
	}
}

func TestDevAcceptsThePublishedKeys(t *testing.T) {
	t.Parallel()
	for _, keys := range []string{makefileKey, composeKey, renamedKey} {
		wantLoad(t, with(valid(), "AIAS_ENV", "dev", "AIAS_ENCRYPTION_KEYS", keys), config.RoleDev, "")
	}
}

func TestProductionRefusesAShortOperatorToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env, token string
		role             config.Role
		wantErr          string
	}{
		{"31 characters", "production", strings.Repeat("a", 31), config.RoleIngress, "AIAS_OPERATOR_TOKEN must be at least 32 characters with AIAS_ENV=production, got 31"},
		{"a short word", "production", "secret", config.RoleDev, "got 6"},
		{"31 characters of several bytes each", "production", strings.Repeat("é", 31), config.RoleIngress, "got 31"},
		{"32 characters", "production", strings.Repeat("a", 32), config.RoleIngress, ""},
		{"no token: no dashboard", "production", "", config.RoleIngress, ""},
		{"the worker serves no dashboard", "production", "secret", config.RoleWorker, ""},
		{"dev", "dev", "secret", config.RoleDev, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantLoad(t, with(valid(), "AIAS_ENV", tt.env, "AIAS_OPERATOR_TOKEN", tt.token), tt.role, tt.wantErr)
		})
	}
}

// Every production refusal is reported at once, with the other problems.
func TestProductionNamesEveryUnsafeSettingAtOnce(t *testing.T) {
	t.Parallel()
	env := with(valid(), "AIAS_ENCRYPTION_KEYS", makefileKey, "AIAS_OPERATOR_TOKEN", "short", "AIAS_LOG_LEVEL", "loud")
	_, err := config.Load(getenv(env), config.RoleDev)
	if err == nil {
		t.Fatal("Load(published key, short token, bad log level) error = nil, want three problems")
	}
	for _, want := range []string{"AIAS_ENCRYPTION_KEYS", "AIAS_OPERATOR_TOKEN", "AIAS_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load error = %q, want it to name %s", err, want)
		}
	}
}

func TestSignupIsClosedUnlessTurnedOn(t *testing.T) {
	t.Parallel()
	got, err := config.Load(getenv(valid()), config.RoleIngress)
	if err != nil {
		t.Fatal(err)
	}
	if got.SignupEnabled || got.SignupRatePerHour != 5 {
		t.Errorf("Load(minimal env) signup = %v at %d per hour, want closed, and 5 per hour once opened", got.SignupEnabled, got.SignupRatePerHour)
	}
}

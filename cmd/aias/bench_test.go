package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"aias/internal/keyring"
)

// The floor's signing secret is published: the ingress that serves it
// refuses to start as production, which AIAS_ENV defaults to, before it
// connects to anything.
func TestBenchIngressRefusesProduction(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DATABASE_URL":         "postgres://app@db.invalid:5432/aias",
		"AIAS_ENCRYPTION_KEYS": keyring.Generate(), // not published: production would refuse a published one
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "ingress"}, func(k string) string { return env[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), "only with AIAS_ENV=dev") {
		t.Errorf("aias bench ingress with AIAS_ENV unset = %v, want a refusal naming AIAS_ENV=dev", err)
	}
}

package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// /metrics, /readyz and the queue dashboard are for operators: the ingress
// serves them on its ops listener (AIAS_METRICS_ADDR), not on the public
// port, which keeps /healthz for load balancers.
func TestTheIngressServesMetricsAndTheDashboardOnlyOnItsOpsListener(t *testing.T) {
	t.Parallel()
	const token = "an-operator-token-of-32-characters!"
	s := newStack(t)
	_, c := s.startIngress(map[string]string{"AIAS_OPERATOR_TOKEN": token})
	for _, path := range []string{"/metrics", "/readyz", "/admin/queues", "/admin/queues/api/queues"} {
		c.doAt(c.base, "GET", path, token, "", "", http.StatusNotFound, nil)
	}
	c.doAt(c.base, "GET", "/healthz", "", "", "", http.StatusOK, nil)
	for _, path := range []string{"/metrics", "/readyz", "/healthz", "/admin/queues", "/admin/queues/api/queues"} {
		c.doAt(c.ops, "GET", path, token, "", "", http.StatusOK, nil)
	}
	c.doAt(c.ops, "GET", "/admin/queues", "", "", "", http.StatusUnauthorized, nil)
}

// A production ingress does not start with a key anyone holds, and says
// which key and what to do.
func TestAProductionIngressRefusesThePublishedKey(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	published := "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // the e2e tests' key
	p := start(t, "aias-ingress", s.env(map[string]string{"AIAS_ENV": "production", "AIAS_ENCRYPTION_KEYS": published}))
	if err := p.wait(20 * time.Second); exitCode(err) != 1 {
		t.Fatalf("production ingress with the tests' key exit = %v, want 1", err)
	}
	if out := p.out.String(); !strings.Contains(out, `key "test1" is published`) || !strings.Contains(out, "aias keys generate") {
		t.Errorf("production ingress output = %q, want it to name the published key and how to make one", out)
	}
}

package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"aias/pkg/aias"
)

// The management pages, drawn for a signed-in owner and a viewer: each
// page answers, shows what it reads, offers only what the role allows,
// and never shows a secret after its one showing. (The browser tests in
// internal/console drive the same pages in Chromium.)

// page GETs a console page as the person (pages are not in the API
// document, so the exchange is not held to it).
func (p person) page(path string) (int, string) {
	p.s.t.Helper()
	req, err := http.NewRequest("GET", p.s.base+path, nil)
	if err != nil {
		p.s.t.Fatal(err)
	}
	req.Header.Set("Cookie", "aias_session="+p.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.s.t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestManagementPagesShowWhatTheRoleMayDo(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	owner := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "own@example.com", "password": strongPassword, "tenant_name": "Own"}))
	key := owner.do("POST", "/api/v1/api-keys", map[string]string{"name": "robot", "role": "admin"})
	var minted struct {
		Key string `json:"key"`
	}
	key.json(t, &minted)
	api := s.client(minted.Key)
	ctx := context.Background()
	wf := s.createWorkflow(minted.Key, "name: pages\nsteps:\n  - name: a\n    type: log\n    with: {message: one}\n")
	if _, err := api.UpdateWorkflow(ctx, wf, aias.YAML([]byte("name: pages\nsteps:\n  - name: a\n    type: log\n    with: {message: two}\n"))); err != nil {
		t.Fatal(err)
	}
	ep, err := api.CreateEndpoint(ctx, aias.CreateEndpointRequest{WorkflowID: wf, Name: `<script>alert("ep")</script>`,
		Verification: &aias.VerificationInput{Scheme: aias.SchemeGitHub}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.PutSecret(ctx, "SHOP_TOKEN", "tok-very-secret-value"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.SendTestDelivery(ctx, ep.ID, aias.TestDeliveryRequest{Body: []byte(`{"pad":"` + strings.Repeat("x", 10) + `"}`)}); err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		path string
		want []string
	}{
		{"/workflows", []string{">pages<", `href="/workflows/new"`}},
		{"/workflows/new", []string{`id="definition"`, "data-save", "Test with a sample payload"}},
		{"/workflows/" + wf, []string{"v1 → v2", "message: one", "message: two", `class="removed"`, `class="added"`, "data-save"}},
		{"/endpoints", []string{"&lt;script&gt;", "New endpoint", "github"}},
		{"/endpoints/" + ep.ID, []string{"/api/webhooks/", ep.TokenPrefix + "…", "Send test delivery", "Rotate", "Disable"}},
		{"/secrets", []string{"SHOP_TOKEN", "…alue", "Save secret"}},
		{"/api-keys", []string{"robot", "Create key", "Revoke"}},
		{"/members", []string{"own@example.com", "Invite someone"}},
		{"/audit", []string{"endpoint.test_delivery", "secret.put"}},
		{"/billing", []string{"Current plan", "Runs per month"}},
		{"/diagnostics", []string{"Waiting work", "Rejected deliveries"}},
	}
	for _, pg := range pages {
		status, body := owner.page(pg.path)
		if status != 200 {
			t.Errorf("owner GET %s = %d %.300s", pg.path, status, body)
			continue
		}
		for _, w := range pg.want {
			if !strings.Contains(body, w) {
				t.Errorf("owner GET %s lacks %q", pg.path, w)
			}
		}
		for _, secret := range []string{"tok-very-secret-value", minted.Key, ep.SigningSecret, ep.Token} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s shows a secret shown once (%.12s…)", pg.path, secret)
			}
		}
		if strings.Contains(body, `<script>alert(`) {
			t.Errorf("GET %s renders the endpoint's name as markup", pg.path)
		}
	}

	// A viewer reads the workflows and endpoints, without write buttons,
	// and is refused the admin pages.
	var inv struct {
		Link string `json:"link"`
	}
	owner.do("POST", "/api/v1/invites", map[string]string{"email": "view@example.com", "role": "viewer"}).json(t, &inv)
	token := inv.Link[strings.Index(inv.Link, "token=")+len("token="):]
	viewer := s.signedIn(s.do("POST", "/api/v1/invites/accept", "", "", map[string]string{"token": token, "password": "violet-anchor-93-meadow"}))
	for path, absent := range map[string][]string{
		"/workflows":          {`href="/workflows/new"`},
		"/workflows/" + wf:    {"data-save", "Test with a sample payload"},
		"/endpoints":          {"New endpoint"},
		"/endpoints/" + ep.ID: {"Send test delivery", "Rotate</button>", "Disable</button>"},
		"/members":            {"Invite someone", "Change"},
		"/":                   {`href="/secrets"`, `href="/api-keys"`, `href="/audit"`},
	} {
		status, body := viewer.page(path)
		if status != 200 {
			t.Errorf("viewer GET %s = %d", path, status)
			continue
		}
		for _, a := range absent {
			if strings.Contains(body, a) {
				t.Errorf("viewer GET %s shows %q", path, a)
			}
		}
	}
	for _, path := range []string{"/workflows/new", "/secrets", "/api-keys", "/audit", "/billing", "/diagnostics"} {
		if status, _ := viewer.page(path); status != http.StatusForbidden {
			t.Errorf("viewer GET %s = %d, want 403", path, status)
		}
	}
	// Another tenant's workflow is not found, whatever the role.
	other := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "oth@example.com", "password": strongPassword, "tenant_name": "Other"}))
	if status, _ := other.page("/workflows/" + wf); status != http.StatusNotFound {
		t.Errorf("another tenant's GET /workflows/%s = %d, want 404", wf, status)
	}
}

// The plan page offers Stripe's Checkout and portal to the owner only;
// an admin sees the plan and its usage, and a forged checkout is refused.
func TestBillingPageOffersCheckoutToTheOwnerOnly(t *testing.T) {
	t.Parallel()
	s := stripeBilling(t)
	owner := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "pay@example.com", "password": strongPassword, "tenant_name": "Payer"}))
	status, body := owner.page("/billing")
	if status != 200 || !strings.Contains(body, `data-once-api="/api/v1/billing/checkout"`) || !strings.Contains(body, `value="big"`) {
		t.Fatalf("owner GET /billing = %d, want a checkout form for the big plan:\n%.2000s", status, body)
	}
	if strings.Contains(body, "/api/v1/billing/portal") {
		t.Error("the portal is offered before any subscription")
	}
	// What the checkout form sends, as the page's script sends it.
	r := owner.do("POST", "/api/v1/billing/checkout", map[string]string{"plan": "big"})
	if r.Status != 200 || !strings.Contains(r.String(), `"url":"http`) {
		t.Fatalf("checkout = %d %s, want a Stripe URL", r.Status, r.Body)
	}
	if _, body = owner.page("/billing"); !strings.Contains(body, "/api/v1/billing/portal") {
		t.Error("with a Stripe customer, the owner is not offered the portal")
	}

	var inv struct {
		Link string `json:"link"`
	}
	owner.do("POST", "/api/v1/invites", map[string]string{"email": "adm@example.com", "role": "admin"}).json(t, &inv)
	token := inv.Link[strings.Index(inv.Link, "token=")+len("token="):]
	admin := s.signedIn(s.do("POST", "/api/v1/invites/accept", "", "", map[string]string{"token": token, "password": "violet-anchor-93-meadow"}))
	status, body = admin.page("/billing")
	if status != 200 || !strings.Contains(body, "Current plan") || strings.Contains(body, "/api/v1/billing/checkout") || strings.Contains(body, "/api/v1/billing/portal") {
		t.Errorf("admin GET /billing = %d, want the plan without checkout or portal", status)
	}
	wantProblem(t, "an admin's forged checkout", admin.do("POST", "/api/v1/billing/checkout", map[string]string{"plan": "big"}), 403, "forbidden")
}

package console_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The management pages in Chromium: the workflow editor (a problem shown
// at its line, then fixed and saved), a test with a sample payload that
// asks before a step with side effects, a diff of two versions, an
// endpoint made and sent a test delivery, an API key shown once, and a
// viewer invited who sees no write buttons.

// A definition with a mistake on line 8 (an unknown step type).
const badDefinition = `name: orders
steps:
  - name: normalize
    type: transform
    with:
      output: {id: "trigger.body.id", total: "trigger.body.total * 2"}
  - name: notify
    type: emial
`

func goodDefinition(url, message string) string {
	return `name: orders
steps:
  - name: normalize
    type: transform
    with:
      output: {id: "trigger.body.id", total: "trigger.body.total * 2"}
  - name: note
    type: log
    with: {message: "` + message + ` {{ steps.normalize.output.id }}"}
  - name: notify
    type: http
    with: {url: "` + url + `", method: POST, body: "steps.normalize.output"}
`
}

// setDefinition replaces the editor's text as typing would.
func (b *tab) setDefinition(text string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const t = document.querySelector("#definition"); t.value = %q;
  t.dispatchEvent(new Event("input")); return true; })()`, text), nil)
}

func TestManagementPagesInTheBrowser(t *testing.T) {
	s := startConsole(t)
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	defer target.Close()
	b := newBrowser(t, s, 1280)
	b.signUp("admin@example.com", "harbor-lights-27-quince", "Acme")

	// The editor: the server's problem is marked at its line.
	b.visit("/workflows/new")
	b.setDefinition(badDefinition)
	b.do("check", clickOn("[data-check]"))
	b.waitFor("the problem at its line", `document.querySelector(".gutter li.bad") !== null`)
	var bad []string
	b.eval(`Array.from(document.querySelectorAll(".gutter li.bad")).map(li => li.textContent)`, &bad)
	if len(bad) != 1 || bad[0] != "8" {
		t.Errorf("lines marked = %v, want line 8 (the unknown step type)", bad)
	}
	if p := b.text("[data-problems]"); !strings.Contains(p, "line 8") || !strings.Contains(p, "emial") {
		t.Errorf("problems = %q, want line 8 and the unknown type", p)
	}
	b.screenshot("workflow-editor-problem")

	// Fixed, it saves as version 1 and the page of the workflow opens.
	b.setDefinition(goodDefinition(target.URL+"/hook", "order"))
	b.do("create", clickOn("[data-save]"))
	b.waitFor("the saved workflow's page", `location.pathname.startsWith("/workflows/") && location.pathname !== "/workflows/new" && document.querySelector("h1") !== null`)
	wfPath := strings.TrimPrefix(b.location(), b.base)
	if h := b.text("h1"); !strings.Contains(h, "orders") || !strings.Contains(h, "v1") {
		t.Errorf("heading = %q, want the workflow orders at v1", h)
	}

	// Test with a sample payload: the http step is named first, and runs
	// only once allowed.
	b.do("check", clickOn("[data-check]"))
	b.waitFor("the side effects", `!document.querySelector("[data-effects]").hidden`)
	// The page shows the stored definition (YAML, keys sorted): the line
	// named is the http step's line of that text.
	var atLine string
	b.eval(`(() => { const m = document.querySelector("[data-effects]").textContent.match(/notify \(http, line (\d+)\)/);
  return m ? document.querySelector("#definition").value.split("\n")[Number(m[1]) - 1] : ""; })()`, &atLine)
	if !strings.Contains(atLine, "name: notify") {
		t.Errorf("side effects = %q, line named holds %q; want the notify step's line", b.text("[data-effects]"), atLine)
	}
	b.eval(`(() => { document.querySelector("#trigger_body").value = '{"id": "A-1", "total": 21}'; return true; })()`, nil)
	b.do("run the test", clickOn(`form[data-test] button[type="submit"]`))
	b.waitFor("the test's answer", `!document.querySelector("[data-test-result]").hidden`)
	if r := b.text("[data-test-result]"); !strings.Contains(r, "side_effects_not_allowed") || calls.Load() != 0 {
		t.Errorf("test without allowing = %q (%d calls), want side_effects_not_allowed and no call", r, calls.Load())
	}
	b.do("allow", clickOn("#allow_side_effects"))
	b.do("run the test", clickOn(`form[data-test] button[type="submit"]`))
	b.waitFor("the test's steps", `document.querySelector("[data-test-result] table") !== null`)
	r := b.text("[data-test-result]")
	if !strings.Contains(r, "Test succeeded") || !strings.Contains(r, `"total": 42`) || !strings.Contains(r, `"received": true`) || calls.Load() != 1 {
		t.Errorf("test = %q (%d calls), want succeeded, total 42 and the http step's answer, one call", r, calls.Load())
	}
	b.screenshot("workflow-test")

	// A second version, and the diff between the two.
	b.setDefinition(goodDefinition(target.URL+"/hook", "new order"))
	b.do("save", clickOn("[data-save]"))
	b.waitFor("version 2", `document.querySelector("[data-status]").textContent === "Saved version 2."`)
	b.visit(wfPath)
	var changed []string
	b.eval(`Array.from(document.querySelectorAll("table.diff tr.added code, table.diff tr.removed code")).map(c => c.textContent.trim())`, &changed)
	if len(changed) != 2 || !strings.Contains(changed[0], "message: order") || !strings.Contains(changed[1], "message: new order") {
		t.Errorf("diff lines = %q, want the message's line removed then added", changed)
	}
	b.screenshot("workflow-versions")

	// An endpoint: its URL and signing secret shown once, then a test
	// delivery through the intake.
	b.visit("/endpoints")
	b.eval(`(() => { document.querySelector("#f-scheme").value = '{"scheme":"github"}'; return true; })()`, nil)
	b.fill(map[string]string{"name": "shop"}, `form[data-once-api="/api/v1/webhook-endpoints"] button[type="submit"]`)
	b.waitFor("the new endpoint's URL", `document.querySelector("#once-url") !== null`)
	var once struct{ URL, Secret string }
	b.eval(`({url: document.querySelector("#once-url").value, secret: document.querySelector("#once-signing_secret").value})`, &once)
	if !strings.HasPrefix(once.URL, b.base+"/api/webhooks/") || once.Secret == "" {
		t.Errorf("shown once: %+v, want the intake URL and the signing secret", once)
	}
	b.screenshot("endpoint-created")
	var html string
	b.visit("/endpoints")
	if strings.Contains(b.text("main"), once.Secret) {
		t.Error("the endpoints page shows the signing secret again")
	}
	b.do("open the endpoint", clickOn(`main table a[href^="/endpoints/"]`))
	b.waitPath("/endpoints/")
	b.do("send a test delivery", clickOn("[data-test-delivery]"))
	b.waitFor("the outcome", `document.querySelector("#test-outcome .outcome-accepted") !== null`)
	if o := b.text("#test-outcome"); !strings.Contains(o, "Answered 202 (accepted)") || !strings.Contains(o, "X-Hub-Signature-256") {
		t.Errorf("test delivery outcome = %q, want accepted with a GitHub signature", o)
	}
	b.screenshot("endpoint-test-delivery")

	// Rotate with a grace period: the new secret shown once; then disable.
	b.eval(`(() => { document.querySelector("#f-grace").value = "1h"; return true; })()`, nil)
	b.do("rotate", clickOn(`form[data-once-api$="/rotate"] button[type="submit"]`))
	b.waitFor("the new secret", `document.querySelector("#once-signing_secret") !== null`)
	var rotated string
	b.eval(`document.querySelector("#once-signing_secret").value`, &rotated)
	if rotated == "" || rotated == once.Secret {
		t.Errorf("rotated secret = %q, want a new one", rotated)
	}
	b.do("disable", clickOn(`form[data-method="PATCH"] button[type="submit"]`))
	b.waitFor("the endpoint disabled", `document.querySelector("form[data-method=PATCH] button") && document.querySelector("form[data-method=PATCH] button").textContent === "Enable"`)
	if n := strings.Count(b.text("main dl"), "since"); n != 2 {
		t.Errorf("live signing secrets after a rotation with grace = %d, want 2 (%q)", n, b.text("main dl"))
	}

	// A generic HMAC endpoint: its header, encoding and prefix are fields of
	// their own, shown while the scheme is chosen; a delivery signed that
	// way is accepted.
	b.visit("/endpoints")
	hmacFields := `(() => { const f = document.querySelector("#f-hmac-header"); return {shown: !f.closest("fieldset").hidden, sent: !f.matches(":disabled")}; })()`
	var state struct{ Shown, Sent bool }
	if b.eval(hmacFields, &state); state.Shown || state.Sent {
		t.Errorf("generic HMAC fields before hmac is chosen: %+v, want hidden and not sent", state)
	}
	b.eval(`(() => { const s = document.querySelector("#f-scheme"); s.value = '{"scheme":"hmac"}'; s.dispatchEvent(new Event("change")); return true; })()`, nil)
	b.eval(`(() => { document.querySelector("#f-hmac-encoding").value = "base64"; return true; })()`, nil)
	if b.eval(hmacFields, &state); !state.Shown || !state.Sent {
		t.Errorf("generic HMAC fields with hmac chosen: %+v, want shown and sent", state)
	}
	b.screenshot("endpoint-hmac-form")
	b.fill(map[string]string{"name": "billing", "verification.header": "X-Billing-Signature", "verification.prefix": "v1,"},
		`form[data-once-api="/api/v1/webhook-endpoints"] button[type="submit"]`)
	b.waitFor("the HMAC endpoint's URL", `document.querySelector("#once-url") !== null`)
	var hm struct{ URL, Secret string }
	b.eval(`({url: document.querySelector("#once-url").value, secret: document.querySelector("#once-signing_secret").value})`, &hm)
	b.screenshot("endpoint-hmac-created")
	if b.eval(hmacFields, &state); state.Shown || state.Sent {
		t.Errorf("generic HMAC fields after the form was reset to its first scheme: %+v, want hidden and not sent", state)
	}
	body := `{"invoice":"in_1"}`
	mac := hmac.New(sha256.New, []byte(hm.Secret))
	mac.Write([]byte(body))
	for name, sig := range map[string]string{"signed": "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), "unsigned": ""} {
		req, _ := http.NewRequest("POST", hm.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Billing-Signature", sig)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if want := map[string]int{"signed": http.StatusAccepted, "unsigned": http.StatusUnauthorized}[name]; res.StatusCode != want {
			t.Errorf("%s delivery to the generic HMAC endpoint = %d, want %d", name, res.StatusCode, want)
		}
	}

	// A secret: set, listed by name, its value never drawn.
	b.visit("/secrets")
	b.fill(map[string]string{"name": "SHOP_TOKEN", "value": "tok-very-secret-value"}, `form[data-once-api] button[type="submit"]`)
	b.waitFor("the secret listed", `document.body.textContent.includes("SHOP_TOKEN")`)
	b.eval(`document.documentElement.outerHTML`, &html)
	if strings.Contains(html, "tok-very-secret-value") || !strings.Contains(html, "…alue") {
		t.Error("the secrets page shows the value (or not its last four characters)")
	}

	// An API key: shown once, in the answer only.
	b.visit("/api-keys")
	b.fill(map[string]string{"name": "deploy"}, `form[data-once-api="/api/v1/api-keys"] button[type="submit"]`)
	b.waitFor("the new key", `document.querySelector("#once-key") !== null`)
	var key string
	b.eval(`document.querySelector("#once-key").value`, &key)
	if !strings.HasPrefix(key, "aias_") {
		t.Errorf("key shown = %q, want aias_…", key)
	}
	b.screenshot("api-key-once")
	b.visit("/api-keys")
	b.eval(`document.documentElement.outerHTML`, &html)
	if strings.Contains(html, key) || !strings.Contains(html, "deploy") {
		t.Error("the API keys page, reloaded, shows the key again (or not its name)")
	}

	// Invite a viewer: the one-time link; the viewer sees no write button.
	b.visit("/members")
	b.eval(`(() => { document.querySelector("#f-invite-role").value = "viewer"; return true; })()`, nil)
	b.fill(map[string]string{"email": "viewer@example.com"}, `form[data-once-api="/api/v1/invites"] button[type="submit"]`)
	b.waitFor("the invitation link", `document.querySelector("#once-link") !== null`)
	var link string
	b.eval(`document.querySelector("#once-link").value`, &link)
	if !strings.Contains(link, "/invite?token=") {
		t.Fatalf("invitation link = %q", link)
	}
	b.screenshot("members-invite")
	v := newBrowser(t, s, 360)
	v.visit(strings.TrimPrefix(link, s.base))
	v.fill(map[string]string{"password": "violet-anchor-93-meadow"}, `main form button[type="submit"]`)
	v.waitPath("/")
	v.visit(wfPath)
	if n := v.count("[data-save], [data-check], form[data-test], a[href='/workflows/new']"); n != 0 {
		t.Errorf("the viewer's workflow page has %d write controls, want none", n)
	}
	var readonly bool
	v.eval(`document.querySelector("#definition").readOnly`, &readonly)
	if !readonly {
		t.Error("the viewer's editor is not read-only")
	}
	v.screenshot("workflow-viewer-360")
	v.visit("/endpoints")
	if n := v.count("form[data-once-api]"); n != 0 {
		t.Errorf("the viewer's endpoints page has %d forms, want none", n)
	}
	if r := v.api("POST", "/api/v1/workflows/test", map[string]any{"definition": badDefinition}, true); r.Status != http.StatusForbidden {
		t.Errorf("the viewer's forged test = %d %s, want 403", r.Status, r.Body)
	}
	// The admin makes the viewer a member on the members page.
	b.visit("/members")
	b.eval(`(() => { const s = Array.from(document.querySelectorAll("main select[name=role]")).find(x => x.id !== "f-invite-role" && x.closest("tr").textContent.includes("viewer@example.com"));
  s.value = "member"; return true; })()`, nil)
	b.do("change the role", clickOn(`main tr:nth-child(2) form[data-method="PATCH"] button[type="submit"]`))
	b.waitFor("the new role", `Array.from(document.querySelectorAll("main tbody tr")).some(r => r.textContent.includes("viewer@example.com") && r.children[1].textContent === "member")`)
	b.noAlerts()
	v.noAlerts()
}

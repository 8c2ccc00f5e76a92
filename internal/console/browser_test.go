package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The payloads a hostile sender or member would try: each is data, and the
// console must show it as text. Had any of their scripts run, a dialog
// would have opened (tab.noAlerts).
const (
	xssTenant  = `Acme <img src=x onerror="alert('tenant')">`
	xssBody    = `<script>alert('body')</script><img src=x onerror="alert('trigger')">`
	xssHeader  = `"><svg onload="alert('header')">`
	xssOutput  = `</pre><script>alert(7)</script>`
	xssEndName = `ep <iframe srcdoc="<script>alert('endpoint')</script>">`
)

// The workflow the tests run: its output, log line and artifact carry the
// trigger's payload.
const reportWorkflow = `{
  "name": "order-report",
  "steps": [
    {"name": "shape", "type": "transform", "with": {"output": {"id": "trigger.body.id", "note": "trigger.body.note", "html": "'` + xssOutput + `'"}}},
    {"name": "say", "type": "log", "with": {"message": "order {{ steps.shape.output.id }}: {{ steps.shape.output.note }}"}},
    {"name": "receipt", "type": "artifact", "with": {"name": "receipt-{{ steps.shape.output.id }}.json", "content_type": "application/json", "content": "steps.shape.output"}}
  ]
}`

// signUp creates an account through the signup page and returns with the
// browser on the overview.
func (b *tab) signUp(email, password, org string) {
	b.t.Helper()
	b.visit("/signup")
	b.fill(map[string]string{"email": email, "password": password, "tenant_name": org}, `main form button[type="submit"]`)
	b.waitPath("/")
	b.waitFor("the overview", `document.querySelector("h1") && document.querySelector("h1").textContent === "Overview"`)
}

// logIn signs in through the login page.
func (b *tab) logIn(email, password string) {
	b.t.Helper()
	b.visit("/login")
	b.fill(map[string]string{"email": email, "password": password}, `main form button[type="submit"]`)
}

// logOut presses the layout's "Log out" and waits for the login page.
func (b *tab) logOut() {
	b.t.Helper()
	b.do("log out", clickOn(`header form[data-api="/api/v1/session"] button`))
	b.waitPath("/login")
}

// created decodes an in-page API answer, which must have the status want.
func created[T any](b *tab, r apiResult, want int) T {
	b.t.Helper()
	var v T
	if r.Status != want {
		b.t.Fatalf("API answered %d %s, want %d", r.Status, r.Body, want)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		b.t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// The whole story of the issue in one browser: sign up, log out and in
// (a wrong password first), make a workflow and an endpoint, watch a
// webhook's run appear and succeed, open its steps, download its artifact,
// replay it, invite a viewer who sees no write buttons and whose forged
// POST is refused, log out. Every payload stays text.
func TestConsoleEndToEnd(t *testing.T) {
	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	const email, password = "owner@example.com", "harbor-lights-27-quince"

	b.visit("/")
	b.waitPath("/login?next=%2F") // signed out, a page sends the browser to log in
	b.screenshot("login")
	b.signUp(email, password, xssTenant)
	if who := b.text("header .who"); !strings.Contains(who, xssTenant) {
		t.Errorf("header = %q, want the tenant's name as text %q", who, xssTenant)
	}
	b.logOut()

	// A wrong password is refused with the same words as an unknown email.
	b.logIn(email, "not-the-password-9")
	if p := b.text("main form [data-problem]"); !strings.Contains(p, "invalid_credentials") {
		t.Errorf("wrong password shows %q, want invalid_credentials", p)
	}
	b.logIn("nobody@example.com", "not-the-password-9")
	if p := b.text("main form [data-problem]"); !strings.Contains(p, "the email or the password is wrong") {
		t.Errorf("unknown email shows %q, want the same words as a wrong password", p)
	}
	b.logIn(email, password)
	b.waitPath("/")

	// A workflow and an endpoint through the API, from the signed-in page.
	if r := b.api("POST", "/api/v1/workflows", map[string]any{"name": "bad<name>", "steps": []any{}}, true); r.Status != 400 {
		t.Errorf("a workflow named with markup = %d %s, want 400 (names are identifiers)", r.Status, r.Body)
	}
	var def any
	if err := json.Unmarshal([]byte(reportWorkflow), &def); err != nil {
		t.Fatal(err)
	}
	wf := created[struct{ ID string }](b, b.api("POST", "/api/v1/workflows", def, true), 201)
	ep := created[struct{ ID, URL string }](b, b.api("POST", "/api/v1/webhook-endpoints",
		map[string]any{"workflow_id": wf.ID, "name": xssEndName}, true), 201)

	// The runs page is open when the webhook arrives: the run appears and
	// succeeds without a reload.
	b.visit("/runs")
	if n := b.count("#runs-live tbody tr"); n != 0 {
		t.Fatalf("runs before any webhook = %d rows", n)
	}
	body := fmt.Sprintf(`{"id": "A-7", "note": %q}`, xssBody)
	if status, out := s.post(ep.URL, body, "X-Sender-Note", xssHeader); status != http.StatusAccepted {
		t.Fatalf("webhook = %d %s", status, out)
	}
	b.waitFor("the run to appear and succeed in the live list",
		`document.querySelector("#runs-live tbody tr .s-succeeded") !== null`)
	b.screenshot("runs")

	// The run: its timeline, steps, artifact and trigger.
	b.do("open the run", clickOn(`#runs-live tbody tr a`))
	runURL := b.waitPath("/runs/")
	runPath := strings.TrimPrefix(runURL, b.base)
	if n := b.count("svg.chart rect.bar-succeeded"); n != 3 {
		t.Errorf("timeline bars = %d, want one per step (3)", n)
	}
	for _, sel := range []string{"#step-0 summary", "#step-1 summary", "#step-2 summary"} {
		b.do("open "+sel, clickOn(sel))
	}
	if out := b.text("#step-0 pre:last-of-type"); !strings.Contains(out, xssOutput) || !strings.Contains(out, `<script>alert('body')</script>`) {
		t.Errorf("step output shows %q, want the payloads as text", out)
	}
	if logs := b.text("#step-1 table"); !strings.Contains(logs, "order A-7: "+xssBody) {
		t.Errorf("step logs show %q, want the log line with the payload as text", logs)
	}
	if trig := b.text("#h-trigger + dl"); !strings.Contains(trig, "webhook") {
		t.Errorf("trigger = %q", trig)
	}
	if hdrs := b.text("section[aria-labelledby=h-trigger] table"); !strings.Contains(hdrs, xssHeader) {
		t.Errorf("trigger headers = %q, want the header's value as text", hdrs)
	}
	if n := b.count("main script, main iframe, main svg[onload], main img[onerror]"); n != 0 {
		t.Errorf("the run page holds %d elements from payloads, want none", n)
	}
	b.screenshot("run")
	got := b.download(`section[aria-labelledby=h-artifacts] a[download]`)
	var receipt map[string]string
	if err := json.Unmarshal(got, &receipt); err != nil || receipt["id"] != "A-7" || receipt["note"] != xssBody {
		t.Errorf("downloaded artifact = %s (%v), want the receipt with the payload", got, err)
	}

	// Replay: confirm, and the new run's page opens and succeeds.
	b.do("replay", clickOn(`form[data-api$="/replay"] button`))
	b.waitFor("the replay's page", fmt.Sprintf(`location.pathname.startsWith("/runs/") && location.pathname !== %q`, runPath))
	if d := b.Dialogs(); len(d) == 0 || !strings.HasPrefix(d[len(d)-1], "confirm: Replay this run?") {
		t.Errorf("dialogs = %q, want a confirmation before the replay", d)
	}
	for i := 0; i < 100 && b.count(".s-succeeded") == 0; i++ {
		time.Sleep(100 * time.Millisecond)
		b.visit(strings.TrimPrefix(b.location(), b.base))
	}
	if b.text("main p a[href^='/runs/']") == "" || !strings.Contains(b.text("main > p"), "replay of") {
		t.Errorf("the replay's page does not link its original run")
	}

	// Bulk replay of a filter: the count is on the button and in the
	// confirmation before anything starts; the answer says what it did.
	b.visit("/runs?status=succeeded&workflow_id=" + wf.ID)
	if btn := b.text(`form[data-api="/api/v1/runs/replay"] button`); btn != "Replay 2 runs" {
		t.Errorf("bulk replay button = %q, want the count of matching runs first (Replay 2 runs)", btn)
	}
	b.do("bulk replay", clickOn(`form[data-api="/api/v1/runs/replay"] button`))
	b.waitFor("the bulk answer", `document.querySelector("#bulk-result") && document.querySelector("#bulk-result").textContent === "2"`)
	if d := b.Dialogs(); !strings.HasPrefix(d[len(d)-1], "confirm: Replay 2 runs") {
		t.Errorf("last dialog = %q, want the count confirmed before the bulk replay", d[len(d)-1])
	}
	b.screenshot("runs-bulk")

	// The overview counts them.
	b.visit("/")
	if n := b.count("svg.chart rect.bar-succeeded"); n == 0 {
		t.Errorf("overview chart has no succeeded bar")
	}
	b.screenshot("overview")

	// Invite a viewer; they accept in their own browser.
	inv := created[struct{ Link string }](b, b.api("POST", "/api/v1/invites", map[string]string{"email": "viewer@example.com", "role": "viewer"}, true), 201)
	v := newBrowser(t, s, 360)
	v.visit(strings.TrimPrefix(inv.Link, s.base))
	v.fill(map[string]string{"password": "violet-anchor-93-meadow"}, `main form button[type="submit"]`)
	v.waitPath("/")
	v.waitFor("the overview", `document.querySelector("h1").textContent === "Overview"`)
	v.visit(runPath)
	if n := v.count(`form[data-api*="/replay"], form[data-api*="/redrive"], form[data-api*="/cancel"]`); n != 0 {
		t.Errorf("the viewer sees %d run control forms, want none", n)
	}
	v.screenshot("run-viewer-360")
	v.visit("/runs")
	if n := v.count(`form[data-api="/api/v1/runs/replay"]`); n != 0 {
		t.Errorf("the viewer sees the bulk replay, want not")
	}
	// The viewer forges the POST the button would send, token and all.
	forged := v.api("POST", strings.Replace(runPath, "/runs/", "/api/v1/runs/", 1)+"/replay", nil, true)
	if forged.Status != 403 || !strings.Contains(string(forged.Body), `"code":"forbidden"`) {
		t.Errorf("viewer's forged replay = %d %s, want 403 forbidden", forged.Status, forged.Body)
	}
	v.logOut()
	v.visit("/runs")
	v.waitPath("/login?next=%2Fruns")

	b.noAlerts()
	v.noAlerts()
}

// A page's POST from another site (a page of another origin, posting a
// form to the console while the person is signed in) is refused: without
// the sign-in's CSRF token nothing changes. The browser sends the cookie
// (the other origin is the same site, 127.0.0.1), so the token is what
// refuses it.
func TestACrossSitePostIsRefused(t *testing.T) {
	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	b.signUp("csrf@example.com", "harbor-lights-27-quince", "Csrf Co")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, `<!doctype html><main><form method="post" action="%s/api/v1/api-keys" enctype="text/plain">
<input name='{"name":"stolen","role":"owner","x":"' value='"}'><button id="go" type="submit">win a prize</button></form></main>`, s.base)
	}))
	t.Cleanup(evil.Close)
	b.do("open the other site", navigateTo(evil.URL))
	b.do("post its form", clickOn("#go"))
	b.waitFor("the console's answer", `document.body.innerText.includes("csrf_failed")`)
	b.visit("/")
	keys := b.api("GET", "/api/v1/api-keys", nil, true)
	if keys.Status != 200 || strings.Contains(string(keys.Body), "stolen") {
		t.Errorf("API keys after the forged POST = %d %s, want none named stolen", keys.Status, keys.Body)
	}
	// The same from a script of the page, without the token: refused too.
	if r := b.api("POST", "/api/v1/api-keys", map[string]string{"name": "nope", "role": "viewer"}, false); r.Status != 403 ||
		!strings.Contains(string(r.Body), "csrf_failed") {
		t.Errorf("POST without the token = %d %s, want 403 csrf_failed", r.Status, r.Body)
	}
	// The login form of another origin is refused before any password work.
	evilLogin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/api/v1/session" enctype="text/plain">
<input name='{"email":"csrf@example.com","password":"harbor-lights-27-quince","x":"' value='"}'><button id="go">go</button></form>`, s.base)
	}))
	t.Cleanup(evilLogin.Close)
	b.do("open the other login", navigateTo(evilLogin.URL))
	b.do("post it", clickOn("#go"))
	b.waitFor("the refusal", `document.body.innerText.includes("cross_site")`)
	b.noAlerts()
}

// A sign-in that ended (here: past its absolute expiry) sends a page to
// the login form, and back to the page after logging in; a write from a
// page left open asks to log in again.
func TestAnExpiredSignInGoesBackToLogin(t *testing.T) {
	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	const email, password = "late@example.com", "harbor-lights-27-quince"
	b.signUp(email, password, "Late Co")
	b.visit("/runs")
	s.owner(`UPDATE user_sessions SET expires_at = now() - interval '1 second'`)
	if r := b.api("POST", "/api/v1/workflows", map[string]any{"name": "late"}, true); r.Status != 401 {
		t.Errorf("a write with an ended sign-in = %d %s, want 401", r.Status, r.Body)
	}
	b.visit("/runs?status=failed")
	b.waitPath("/login?next=%2Fruns%3Fstatus%3Dfailed")
	b.fill(map[string]string{"email": email, "password": password}, `main form button[type="submit"]`)
	b.waitPath("/runs?status=failed")
}

// Thousands of runs: the list pages through them by cursor, every run once.
func TestAHugeRunListIsPaged(t *testing.T) {
	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	b.signUp("many@example.com", "harbor-lights-27-quince", "Many Co")
	wf := created[struct{ ID string }](b, b.api("POST", "/api/v1/workflows", map[string]any{
		"name": "noop", "steps": []any{map[string]any{"name": "a", "type": "log", "with": map[string]any{"message": "x"}}}}, true), 201)
	const total = 2500
	s.owner(`INSERT INTO runs (id, tenant_id, workflow_id, workflow_version, trigger_kind, status, attempt, max_attempts, request_id,
	                          body, content_type, headers, query, received_at, created_at, updated_at, started_at, finished_at)
	         SELECT gen_random_uuid(), w.tenant_id, w.id, 1, 'manual', 'succeeded', 1, 3, '', '{}', 'application/json', '{}', '{}',
	                now() - make_interval(secs => g), now() - make_interval(secs => g), now(), now() - make_interval(secs => g), now() - make_interval(secs => g)
	           FROM workflows w, generate_series(1, $2) g WHERE w.id = $1`, wf.ID, total)
	seen := map[string]bool{}
	b.visit("/runs?limit=200")
	pages := 0
	for {
		pages++
		var ids []string
		b.eval(`Array.from(document.querySelectorAll("#runs-live tbody tr a")).map(a => a.getAttribute("href"))`, &ids)
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("run %s shown twice", id)
			}
			seen[id] = true
		}
		if b.count(`a[rel="next"]`) == 0 {
			break
		}
		if pages == 1 {
			b.screenshot("runs-paged")
		}
		b.do("next page", clickOn(`a[rel="next"]`))
		b.waitFor("the next page", fmt.Sprintf(`document.readyState === "complete" && location.search.includes("cursor=") && document.querySelectorAll("#runs-live tbody tr").length > 0 && !%q.includes(document.querySelector("#runs-live tbody tr a").getAttribute("href"))`, strings.Join(keysOf(seen), " ")))
	}
	if len(seen) != total || pages != (total+199)/200 {
		t.Errorf("paged through %d runs in %d pages, want %d in %d", len(seen), pages, total, (total+199)/200)
	}
	// The last page leads back to the first, with the same filter.
	if b.count(`nav.pager a[href="/runs?limit=200"]`) != 1 {
		var pager string
		b.eval(`(document.querySelector("nav.pager") || {outerHTML: "none"}).outerHTML`, &pager)
		t.Errorf("the last page has no link back to the first with its filter: %s", pager)
	}
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A person's sign-ins: two browsers signed in, one ends the other from the
// account page, then logs out everywhere. A password reset link from the
// operator sets a new password through the reset page.
func TestSignInsEndAndPasswordsReset(t *testing.T) {
	s := startConsole(t)
	const email, password = "two@example.com", "harbor-lights-27-quince"
	a := newBrowser(t, s, 1280)
	a.signUp(email, password, "Two Co")
	other := newBrowser(t, s, 1280)
	other.logIn(email, password)
	other.waitPath("/")

	a.visit("/account")
	if n := a.count("main tbody tr"); n != 2 {
		t.Fatalf("account page lists %d sign-ins, want 2", n)
	}
	a.screenshot("account")
	a.do("end the other sign-in", clickOn(`main tbody form[data-api^="/api/v1/sessions/"] button`))
	a.waitFor("one sign-in left", `document.readyState === "complete" && document.querySelectorAll("main tbody tr").length === 1`)
	other.visit("/runs")
	other.waitPath("/login?next=%2Fruns")

	a.do("log out everywhere", clickOn(`form[data-api="/api/v1/session/logout-everywhere"] button`))
	a.waitPath("/login")
	a.visit("/")
	a.waitPath("/login")

	link := s.resetLink(email)
	a.visit(strings.TrimPrefix(link, s.base))
	if got := a.text("main p strong"); got != email {
		t.Errorf("reset page is for %q, want %s", got, email)
	}
	a.fill(map[string]string{"password": "copper-kettle-58-summit"}, `main form button[type="submit"]`)
	a.waitPath("/login?reset=1")
	a.logIn(email, "copper-kettle-58-summit")
	a.waitPath("/")
	a.visit(strings.TrimPrefix(link, s.base)) // a link works once
	if h := a.text("main h1"); !strings.Contains(h, "Not Found") {
		t.Errorf("a used reset link shows %q, want Not Found", h)
	}
	a.noAlerts()
	other.noAlerts()
}

// Every page and asset carries the security headers, signed in or out,
// and an unknown run is a 404 drawn as a page.
func TestPagesCarryTheSecurityHeaders(t *testing.T) {
	s := startConsole(t)
	status, body := s.post(s.base+"/api/v1/accounts", `{"email":"hdr@example.com","password":"harbor-lights-27-quince","tenant_name":"Hdr"}`)
	if status != http.StatusCreated {
		t.Fatalf("signup = %d %s", status, body)
	}
	jar := s.lastCookie
	for _, path := range []string{"/login", "/signup", "/reset", "/", "/runs", "/account", "/assets/console.css", "/assets/console.js", "/runs/00000000-0000-4000-8000-000000000001"} {
		req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
		req.Header.Set("Cookie", jar)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		h := res.Header
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("Referrer-Policy") == "" {
			t.Errorf("GET %s = %d with headers %v, want CSP, X-Frame-Options DENY, nosniff and Referrer-Policy", path, res.StatusCode, h)
		}
		if strings.HasPrefix(path, "/runs/") && res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404 drawn as a page", path, res.StatusCode)
		}
	}
}

// A run that fails: its page shows the error and the failed attempts (a
// dashed outline on the timeline); once the target recovers, Redrive (after
// a confirmation) resumes it to success. A waiting run is canceled from its
// page. An image artifact is previewed, and its script does not run.
func TestAFailedRunIsRedrivenAndAWaitingOneCanceled(t *testing.T) {
	var healthy atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(target.Close)
	s := startConsole(t)
	b := newBrowser(t, s, 1280)
	b.signUp("ops@example.com", "harbor-lights-27-quince", "Ops Co")
	const badge = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="green"/><script>alert("svg")</script></svg>`
	wf := created[struct{ ID string }](b, b.api("POST", "/api/v1/workflows", map[string]any{
		"name": "flaky", "max_attempts": 1, "steps": []any{
			map[string]any{"name": "badge", "type": "artifact", "with": map[string]any{"name": "badge.svg", "content_type": "image/svg+xml", "content": "'" + badge + "'"}},
			map[string]any{"name": "call", "type": "http", "retry": map[string]any{"max_attempts": 2, "backoff": "1s", "max_backoff": "1s", "jitter": false},
				"with": map[string]any{"url": target.URL + "/x"}},
		}}, true), 201)
	run := created[struct {
		RunID string `json:"run_id"`
	}](b, b.api("POST", "/api/v1/workflows/"+wf.ID+"/runs", map[string]any{}, true), 202)
	b.visit("/runs/" + run.RunID)
	b.waitFor("the run to fail (the page reloads while it moves)", `document.readyState === "complete" && document.querySelector("main > p .s-failed, main > p .s-dead") !== null`)
	if n := b.count("svg.chart rect.bar-retry"); n != 1 {
		t.Errorf("timeline shows %d retried steps, want 1 (the http step)", n)
	}
	if e := b.text("main > p.problem"); !strings.Contains(e, "503") {
		t.Errorf("run error = %q, want the 503", e)
	}
	b.waitFor("the badge preview to load", `(() => { const i = document.querySelector("img.preview"); return i && i.complete && i.naturalWidth === 40; })()`)
	b.screenshot("run-failed")

	healthy.Store(true)
	b.do("redrive", clickOn(`form[data-api$="/redrive"] button`))
	b.waitFor("the redriven run to succeed", `document.readyState === "complete" && document.querySelector("main > p .s-succeeded") !== null`)
	if d := b.Dialogs(); len(d) == 0 || !strings.HasPrefix(d[len(d)-1], "confirm: Redrive this run") {
		t.Errorf("dialogs = %q, want a confirmation before the redrive", d)
	}

	// A run waiting in a delay step is canceled from its page.
	slow := created[struct{ ID string }](b, b.api("POST", "/api/v1/workflows", map[string]any{
		"name": "slow", "steps": []any{map[string]any{"name": "wait", "type": "delay", "with": map[string]any{"for": "1h"}}}}, true), 201)
	waiting := created[struct {
		RunID string `json:"run_id"`
	}](b, b.api("POST", "/api/v1/workflows/"+slow.ID+"/runs", map[string]any{}, true), 202)
	b.visit("/runs/" + waiting.RunID)
	b.do("cancel", clickOn(`form[data-api$="/cancel"] button`))
	b.waitFor("the run to be canceled", `document.readyState === "complete" && document.querySelector("main > p .s-canceled") !== null`)
	b.noAlerts()
}

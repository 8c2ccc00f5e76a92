package console_test

// The browser test harness: AIAS (ingress, worker, scheduler) running
// in-process on the test's own database and Redis DB, and Debian's
// Chromium driven through the DevTools protocol (chromedp). Tests of the
// console's pages use startConsole and newBrowser; docs/console.md,
// "Adding a page", says how.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"aias/internal/account"
	"aias/internal/postgres"
	"aias/internal/testutil/apptest"
	"aias/internal/testutil/pgtest"
)

// aias is AIAS running for one test.
type aias struct {
	t    *testing.T
	base string
	db   *pgtest.DB
	// lastCookie is the aias_session cookie ("aias_session=…") the last
	// post was answered with, if any.
	lastCookie string
}

// startConsole runs every role of AIAS on a fresh database and Redis DB,
// with signup open, until the test ends (internal/testutil/apptest).
func startConsole(t *testing.T) *aias {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{})
	return &aias{t: t, base: srv.Base, db: srv.DB}
}

// owner runs SQL as the schema owner: what an operator (or time) does,
// such as ending a sign-in or filling a tenant with runs.
func (s *aias) owner(query string, args ...any) {
	s.t.Helper()
	s.db.AsOwner(s.t, query, args...)
}

// resetLink makes a one-time password reset link as an operator does
// (aias user reset-link).
func (s *aias) resetLink(email string) string {
	s.t.Helper()
	db, err := postgres.Open(context.Background(), s.db.AppURL, 1)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	link, err := account.New(db, account.Options{PublicURL: s.base}).CreateResetLink(context.Background(), email)
	if err != nil {
		s.t.Fatal(err)
	}
	return link
}

// post sends a webhook (or any JSON) from outside the browser.
func (s *aias) post(url, body string, header ...string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	for _, c := range res.Cookies() {
		if c.Name == "aias_session" {
			s.lastCookie = c.Name + "=" + c.Value
		}
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes()
}

// chromium is Debian's Chromium; make test installs it when missing
// (scripts/services.sh).
const chromium = "/usr/bin/chromium"

// tab is one browser tab on AIAS: it navigates, fills forms, reads the
// page, answers confirmation dialogs (and records every dialog, so a test
// proves no script of a payload ever ran), and takes screenshots.
type tab struct {
	t       *testing.T
	ctx     context.Context
	base    string
	shots   string
	mu      sync.Mutex
	dialogs []string // "type: message" of every dialog opened
}

// screenshotDir is where tests write their screenshots:
// AIAS_SCREENSHOTS when set (docs/console/ takes copies), else a
// directory of the test run.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("AIAS_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// newBrowser starts a headless Chromium with its own profile for the
// test and opens a tab on s. width is the viewport's (1280 for a desktop,
// 360 for a phone).
func newBrowser(t *testing.T, s *aias, width int64) *tab {
	t.Helper()
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("the browser tests need Chromium at %s: apt-get install chromium (make test does)", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(int(width), 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &tab{t: t, base: s.base, shots: screenshotDir(t)}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	b.ctx = ctx
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// listen records dialogs and accepts them: the console asks before a
// replay or a cancel, and a payload's alert() would be one too.
func (b *tab) listen(ev any) {
	d, ok := ev.(*page.EventJavascriptDialogOpening)
	if !ok {
		return
	}
	b.mu.Lock()
	b.dialogs = append(b.dialogs, string(d.Type)+": "+d.Message)
	b.mu.Unlock()
	go func() {
		_, _ = chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
	}()
}

// Dialogs is every dialog opened so far.
func (b *tab) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// noAlerts fails the test if any dialog other than the console's own
// confirmations opened: a script of a payload ran.
func (b *tab) noAlerts() {
	b.t.Helper()
	for _, d := range b.Dialogs() {
		if !strings.HasPrefix(d, "confirm: ") {
			b.t.Errorf("a dialog opened: %q (a payload's script ran)", d)
		}
	}
}

// timeout bounds one browser step.
const timeout = 20 * time.Second

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// visit opens a path of AIAS and waits for its main element.
func (b *tab) visit(path string) {
	b.t.Helper()
	b.do("visit "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
	b.waitFor("the page to load", `document.readyState === "complete"`)
}

// fill types values into the labelled inputs named by name, then submits
// the form of the last one and waits until the browser is at a path
// starting with want (or, want empty, until the form's problem shows).
func (b *tab) fill(fields map[string]string, submit string) {
	b.t.Helper()
	for name, v := range fields {
		sel := chromedp.CSS(`input[name="` + name + `"]`)
		b.do("fill "+name, chromedp.WaitVisible(sel), chromedp.SendKeys(sel, v))
	}
	b.do("submit", chromedp.Click(chromedp.CSS(submit)))
}

// waitPath waits until the browser is at a path that starts with prefix
// ("/" alone: the overview, exactly).
func (b *tab) waitPath(prefix string) string {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		loc := b.location()
		rel := strings.TrimPrefix(loc, b.base)
		if rel == prefix || prefix != "/" && strings.HasPrefix(rel, prefix) {
			b.do("wait for the page", chromedp.WaitReady(chromedp.CSS("main")))
			return loc
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser at %s, want %s%s…", loc, b.base, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the text of the first element sel matches, once visible.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("wait for %s: %v (at %s)", sel, err, b.location())
	}
	txt, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return txt
}

// eval runs JavaScript in the page (awaiting a promise) and decodes its
// JSON value into out.
func (b *tab) eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %.80s: %v", js, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("eval %.80s = %s: %v", js, raw, err)
		}
	}
}

// count is how many elements match sel now.
func (b *tab) count(sel string) int {
	b.t.Helper()
	var n int
	b.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	return n
}

// waitFor polls the JavaScript condition until it holds. A navigation
// in between (a form that leads to another page) is waited out.
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("waiting for %s: %v (at %s)", what, last, b.location())
}

// apiResult is what an in-page fetch answered.
type apiResult struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// api calls the API from the page as the console's script does: the
// sign-in's cookie, and its CSRF token from <meta name="csrf-token">
// (csrf false leaves the token out).
func (b *tab) api(method, path string, body any, csrf bool) apiResult {
	b.t.Helper()
	payload := "undefined"
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		payload = fmt.Sprintf("%q", j)
	}
	js := fmt.Sprintf(`(async () => {
  const h = {"Content-Type": "application/json"};
  const m = document.querySelector('meta[name="csrf-token"]');
  if (%t && m) h["X-CSRF-Token"] = m.content;
  const r = await fetch(%q, {method: %q, headers: h, body: %s, credentials: "same-origin"});
  const text = await r.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch (e) { parsed = text; }
  return {status: r.status, body: parsed};
})()`, csrf, path, method, payload)
	var out apiResult
	b.eval(js, &out)
	return out
}

// screenshot writes the whole page to <name>.png in the test's screenshot
// directory.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// download clicks sel and returns the bytes the browser saved.
func (b *tab) download(sel string) []byte {
	b.t.Helper()
	dir := b.t.TempDir()
	_, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptr(true)})
	if err != nil {
		b.t.Fatalf("allow downloads: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			body, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				b.t.Fatalf("read the download: %v", err)
			}
			return body
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.t.Fatal("the download was canceled")
		}
	}
	b.t.Fatal(errors.New("no download completed"))
	return nil
}

func ptr[T any](v T) *T { return &v }

// clickOn clicks the first element matching a CSS selector.
func clickOn(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// navigateTo opens a URL (of any origin).
func navigateTo(url string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(url) }

package e2e_test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"aias/internal/testutil/smtptest"
)

// person is a signed-in browser as the API sees it: the session cookie
// and the sign-in's CSRF token.
type person struct {
	s      *system
	cookie string
	csrf   string
	userID string
}

// signedIn reads the cookie and the token of a 201 from a sign-in route.
func (s *system) signedIn(r response) person {
	s.t.Helper()
	if r.Status != http.StatusCreated {
		s.t.Fatalf("sign-in = %d %s, want 201", r.Status, r.Body)
	}
	var out struct {
		UserID    string `json:"user_id"`
		CSRFToken string `json:"csrf_token"`
	}
	r.json(s.t, &out)
	var cookie string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "aias_session" {
			cookie = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				s.t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", c)
			}
		}
	}
	if cookie == "" || out.CSRFToken == "" {
		s.t.Fatalf("sign-in answered no cookie or no csrf_token: %v %s", r.Header, r.Body)
	}
	return person{s: s, cookie: cookie, csrf: out.CSRFToken, userID: out.UserID}
}

// do sends a request as the person, with the CSRF token.
func (p person) do(method, path string, body any) response {
	p.s.t.Helper()
	return p.s.do(method, path, "", "", body, "Cookie", "aias_session="+p.cookie, "X-CSRF-Token", p.csrf)
}

// bare sends a request with the cookie and without the token.
func (p person) bare(method, path string, body any) response {
	p.s.t.Helper()
	return p.s.do(method, path, "", "", body, "Cookie", "aias_session="+p.cookie)
}

const strongPassword = "harbor-lights-27-quince"

func wantProblem(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.Status != status || !bytes.Contains(r.Body, []byte(`"code":"`+code+`"`)) {
		t.Errorf("%s = %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

// A person signs up, acts through the same /api/v1 routes as a key with the
// cookie and the CSRF token, invites a viewer who joins, and manages them;
// the viewer's writes meet the role table; sign-ins end.
func TestAPersonUsesTheAPIWithACookieAndACSRFToken(t *testing.T) {
	t.Parallel()
	mail := smtptest.New(t)
	s := start(t, options{env: map[string]string{
		"AIAS_SMTP_HOST": "127.0.0.1", "AIAS_SMTP_PORT": strconv.Itoa(mail.Addr.Port), "AIAS_SMTP_FROM": "aias@example.com"}})
	owner := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "ann@example.com", "password": strongPassword, "tenant_name": "Ann & Co"}))

	// The cookie reads; a change needs the token, and then is the person's.
	if r := owner.bare("GET", "/api/v1/me", nil); r.Status != 200 {
		t.Fatalf("GET /api/v1/me with the cookie = %d %s", r.Status, r.Body)
	}
	wantProblem(t, "POST /api/v1/workflows with the cookie, without the token",
		owner.bare("POST", "/api/v1/workflows", map[string]any{"name": "x", "steps": []any{map[string]any{"name": "a", "type": "log", "with": map[string]any{"message": "hi"}}}}),
		403, "csrf_failed")
	wrong := owner
	wrong.csrf = "not-the-token"
	wantProblem(t, "POST with a wrong token", wrong.do("POST", "/api/v1/workflows", map[string]any{"name": "x"}), 403, "csrf_failed")
	if r := owner.do("POST", "/api/v1/workflows", map[string]any{"name": "x", "steps": []any{map[string]any{"name": "a", "type": "log", "with": map[string]any{"message": "hi"}}}}); r.Status != 201 {
		t.Fatalf("POST /api/v1/workflows with cookie and token = %d %s", r.Status, r.Body)
	}
	if r := owner.do("GET", "/api/v1/audit", nil); !bytes.Contains(r.Body, []byte(`"actor_user_id":"`+owner.userID+`","action":"workflow.create"`)) {
		t.Errorf("audit log = %s, want workflow.create by the person", r.Body)
	}

	// Log in again: a second sign-in, listed beside the first.
	second := s.signedIn(s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "ann@example.com", "password": strongPassword}))
	var sessions struct {
		Data []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"data"`
	}
	second.do("GET", "/api/v1/sessions", nil).json(t, &sessions)
	if len(sessions.Data) != 2 {
		t.Fatalf("sessions = %+v, want 2", sessions.Data)
	}
	for _, x := range sessions.Data {
		if !x.Current {
			if r := second.do("DELETE", "/api/v1/sessions/"+x.ID, nil); r.Status != 204 {
				t.Errorf("DELETE /api/v1/sessions/%s = %d %s", x.ID, r.Status, r.Body)
			}
		}
	}
	wantProblem(t, "the first sign-in after the second ended it", owner.bare("GET", "/api/v1/me", nil), 401, "unauthenticated")
	owner = second

	// Invite a viewer: the link is in the answer (and in the email), once.
	var inv struct {
		ID   string `json:"id"`
		Link string `json:"link"`
		Sent bool   `json:"sent"`
	}
	if r := owner.do("POST", "/api/v1/invites", map[string]string{"email": "vic@example.com", "role": "viewer"}); r.Status != 201 {
		t.Fatalf("POST /api/v1/invites = %d %s", r.Status, r.Body)
	} else {
		r.json(t, &inv)
	}
	if !inv.Sent || len(mail.Received()) != 1 || !strings.Contains(mail.Received()[0].Data, inv.Link) {
		t.Errorf("invitation sent=%v, mails %+v; want the link emailed", inv.Sent, mail.Received())
	}
	if r := owner.do("GET", "/api/v1/invites", nil); r.Status != 200 || bytes.Contains(r.Body, []byte("token")) {
		t.Errorf("GET /api/v1/invites = %d %s, want the list without links", r.Status, r.Body)
	}
	token := inv.Link[strings.Index(inv.Link, "token=")+len("token="):]
	viewer := s.signedIn(s.do("POST", "/api/v1/invites/accept", "", "", map[string]string{"token": token, "password": "violet-anchor-93-meadow"}))
	wantProblem(t, "the invitation used twice", s.do("POST", "/api/v1/invites/accept", "", "", map[string]string{"token": token, "password": "violet-anchor-93-meadow"}), 404, "invite_invalid")

	// The viewer reads, and its forged write meets the role table.
	if r := viewer.do("GET", "/api/v1/workflows", nil); r.Status != 200 {
		t.Errorf("viewer GET /api/v1/workflows = %d", r.Status)
	}
	wantProblem(t, "viewer POST /api/v1/workflows with its own token", viewer.do("POST", "/api/v1/workflows", map[string]any{"name": "y"}), 403, "forbidden")

	// Members: list, promote, remove; a revoked invitation.
	if r := owner.do("GET", "/api/v1/members", nil); r.Status != 200 || !bytes.Contains(r.Body, []byte("vic@example.com")) {
		t.Errorf("GET /api/v1/members = %d %s", r.Status, r.Body)
	}
	if r := owner.do("PATCH", "/api/v1/members/"+viewer.userID, map[string]string{"role": "member"}); r.Status != 200 {
		t.Errorf("PATCH member role = %d %s", r.Status, r.Body)
	}
	var inv2 struct {
		ID string `json:"id"`
	}
	owner.do("POST", "/api/v1/invites", map[string]string{"email": "zed@example.com", "role": "member"}).json(t, &inv2)
	if r := owner.do("DELETE", "/api/v1/invites/"+inv2.ID, nil); r.Status != 204 {
		t.Errorf("DELETE invite = %d %s", r.Status, r.Body)
	}
	if r := owner.do("DELETE", "/api/v1/members/"+viewer.userID, nil); r.Status != 204 {
		t.Errorf("DELETE member = %d %s", r.Status, r.Body)
	}
	wantProblem(t, "the removed member's sign-in", viewer.bare("GET", "/api/v1/me", nil), 401, "unauthenticated")

	// Password reset by email, then every sign-in has ended. The email is
	// sent after the answer.
	before := len(mail.Received())
	if r := s.do("POST", "/api/v1/password-resets", "", "", map[string]string{"email": "ann@example.com"}); r.Status != 202 {
		t.Fatalf("POST /api/v1/password-resets = %d %s", r.Status, r.Body)
	}
	mails := waitMail(t, mail, before+1)
	link := regexp.MustCompile(`/reset\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(mails[len(mails)-1].Data)
	if link == nil {
		t.Fatalf("reset email without a link: %s", mails[len(mails)-1].Data)
	}
	if r := s.do("POST", "/api/v1/password-resets/complete", "", "", map[string]string{"token": link[1], "password": "copper-kettle-58-summit"}); r.Status != 204 {
		t.Fatalf("complete reset = %d %s", r.Status, r.Body)
	}
	wantProblem(t, "a sign-in after its password was reset", owner.bare("GET", "/api/v1/me", nil), 401, "unauthenticated")
	again := s.signedIn(s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "ann@example.com", "password": "copper-kettle-58-summit"}))
	var ended struct {
		Ended int `json:"ended"`
	}
	s.signedIn(s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "ann@example.com", "password": "copper-kettle-58-summit"}))
	if r := again.do("POST", "/api/v1/session/logout-everywhere", nil); r.Status != 200 {
		t.Fatalf("logout everywhere = %d %s", r.Status, r.Body)
	} else if r.json(t, &ended); ended.Ended != 2 {
		t.Errorf("logout everywhere ended %d, want 2", ended.Ended)
	}
	last := s.signedIn(s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "ann@example.com", "password": "copper-kettle-58-summit"}))
	if r := last.do("DELETE", "/api/v1/session", nil); r.Status != 204 || !strings.Contains(r.Header.Get("Set-Cookie"), "aias_session=;") {
		t.Errorf("DELETE /api/v1/session = %d Set-Cookie %q, want 204 clearing the cookie", r.Status, r.Header.Get("Set-Cookie"))
	}
	wantProblem(t, "the sign-in after logout", last.bare("GET", "/api/v1/me", nil), 401, "unauthenticated")
}

// Wrong password and unknown email answer alike; the forms used signed
// out refuse another site's browser request; an API key is no sign-in.
func TestSignInsRefuseWhatTheyShould(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "bo@example.com", "password": strongPassword, "tenant_name": "Bo"}))
	wrong := s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "bo@example.com", "password": "not-the-password-1"})
	unknown := s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "nobody@example.com", "password": "not-the-password-1"})
	norm := func(r response) string {
		return regexp.MustCompile(`"request_id":"[^"]*"`).ReplaceAllString(string(r.Body), "")
	}
	wantProblem(t, "wrong password", wrong, 401, "invalid_credentials")
	if wrong.Status != unknown.Status || norm(wrong) != norm(unknown) {
		t.Errorf("wrong password = %d %s, unknown email = %d %s; want the same answer", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	body := map[string]string{"email": "bo@example.com", "password": strongPassword}
	wantProblem(t, "login from another site (Origin)", s.do("POST", "/api/v1/session", "", "", body, "Origin", "https://evil.example"), 403, "cross_site")
	wantProblem(t, "login from another site (Sec-Fetch-Site)", s.do("POST", "/api/v1/session", "", "", body, "Sec-Fetch-Site", "cross-site"), 403, "cross_site")
	if r := s.do("POST", "/api/v1/session", "", "", body, "Origin", s.base, "Sec-Fetch-Site", "same-origin"); r.Status != 201 {
		t.Errorf("login from the console's own page = %d %s", r.Status, r.Body)
	}
	wantProblem(t, "signup from another site", s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "cy@example.com", "password": strongPassword, "tenant_name": "Cy"}, "Origin", "https://evil.example"), 403, "cross_site")
	wantProblem(t, "taken email", s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "bo@example.com", "password": strongPassword, "tenant_name": "Bo 2"}), 409, "email_taken")
	wantProblem(t, "common password", s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "dee@example.com", "password": "password1234", "tenant_name": "Dee"}), 400, "validation_failed")
	wantProblem(t, "reset without SMTP", s.do("POST", "/api/v1/password-resets", "", "", map[string]string{"email": "bo@example.com"}), 503, "mail_not_configured")

	// Guessing one account's password is cut off after ten tries, before
	// any password work, with Retry-After.
	s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "rl@example.com", "password": strongPassword, "tenant_name": "Rl"}))
	var last response
	for i := 0; i < 11; i++ {
		last = s.do("POST", "/api/v1/session", "", "", map[string]string{"email": "rl@example.com", "password": fmt.Sprintf("guess-number-%02d-x", i)})
	}
	wantProblem(t, "the 11th guess", last, 429, "rate_limited")
	if last.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %v", last.Header)
	}

	key := s.signup("keyed").Key
	wantProblem(t, "logout with an API key", s.do("DELETE", "/api/v1/session", key, "", nil), 400, "session_required")
	if r := s.do("GET", "/api/v1/sessions", key, "", nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"data":[]`)) {
		t.Errorf("GET /api/v1/sessions with a key = %d %s, want an empty list", r.Status, r.Body)
	}
	wantProblem(t, "invite with an API key", s.do("POST", "/api/v1/invites", key, "", map[string]string{"email": "e@example.com", "role": "viewer"}), 400, "session_required")
	// The failures are in the person's tenant's audit log.
	bo := s.signedIn(s.do("POST", "/api/v1/session", "", "", body))
	if r := bo.do("GET", "/api/v1/audit", nil); !bytes.Contains(r.Body, []byte(`"action":"user.login_failed"`)) {
		t.Errorf("audit log = %s, want user.login_failed", r.Body)
	}
}

// A person's signup makes a tenant as the API's does, so it spends the
// same per-address budget (AIAS_SIGNUP_RATE_PER_HOUR): neither route is a
// second allowance once the other has spent it.
func TestPersonSignupSharesTheSignupLimit(t *testing.T) {
	t.Parallel()
	s := start(t, options{env: map[string]string{"AIAS_SIGNUP_RATE_PER_HOUR": "2"}})
	person := func(n int) response {
		return s.do("POST", "/api/v1/accounts", "", "", map[string]string{
			"email": fmt.Sprintf("p%d@example.com", n), "password": strongPassword, "tenant_name": fmt.Sprintf("P%d", n)})
	}
	api := func(n int) response {
		return s.do("POST", "/api/v1/signup", "", "", map[string]string{"email": fmt.Sprintf("a%d@example.com", n), "tenant_name": fmt.Sprintf("A%d", n)})
	}
	if r := api(0); r.Status != http.StatusCreated {
		t.Fatalf("API signup = %d %s, want 201", r.Status, r.Body)
	}
	s.signedIn(person(0))
	r := person(1)
	wantProblem(t, "a person's signup once the address's budget is spent", r, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %v", r.Header)
	}
	wantProblem(t, "an API signup once the address's budget is spent", api(1), 429, "rate_limited")
}

// An admin removed from the tenant does not get back in through an
// invitation they made while an admin: its link is refused.
func TestARemovedAdminCannotRejoinThroughTheirOwnInvitation(t *testing.T) {
	t.Parallel()
	s := start(t, options{})
	owner := s.signedIn(s.do("POST", "/api/v1/accounts", "", "", map[string]string{
		"email": "ann@example.com", "password": strongPassword, "tenant_name": "Ann"}))
	invite := func(by person, email string) string {
		var inv struct {
			Link string `json:"link"`
		}
		by.do("POST", "/api/v1/invites", map[string]string{"email": email, "role": "admin"}).json(t, &inv)
		_, tok, ok := strings.Cut(inv.Link, "token=")
		if !ok {
			t.Fatalf("invitation link %q has no token", inv.Link)
		}
		return tok
	}
	mal := s.signedIn(s.do("POST", "/api/v1/invites/accept", "", "", map[string]string{
		"token": invite(owner, "mal@example.com"), "password": "violet-anchor-93-meadow"}))
	back := invite(mal, "mal2@example.com")
	if r := owner.do("DELETE", "/api/v1/members/"+mal.userID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove Mal = %d %s, want 204", r.Status, r.Body)
	}
	wantProblem(t, "accepting the removed admin's invitation", s.do("POST", "/api/v1/invites/accept", "", "", map[string]string{
		"token": back, "password": "walnut-cedar-81-harbor"}), http.StatusNotFound, "invite_invalid")
}

// waitMail waits until the server has received n messages, and returns them.
func waitMail(t *testing.T, srv *smtptest.Server, n int) []smtptest.Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := srv.Received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d emails, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package ingress

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"aias/internal/account"
)

// The sign-in cookie: HttpOnly, SameSite=Lax, Path=/, ending with the
// sign-in, and Secure unless the server is told it serves plain http (dev).
func TestTheSessionCookieIsHttpOnlyLaxAndSecureOutsideDev(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{true, false} {
		s := routeTableServer(t, Options{SecureCookies: secure})
		rec := httptest.NewRecorder()
		c := s.echo.NewContext(httptest.NewRequest(http.MethodPost, "/api/v1/session", nil), rec)
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		s.setSessionCookie(c, account.SignIn{Token: "tok", Principal: account.Principal{ExpiresAt: exp}})
		ck := rec.Result().Cookies()
		if len(ck) != 1 {
			t.Fatalf("cookies = %v", ck)
		}
		got := ck[0]
		if got.Name != SessionCookie || got.Value != "tok" || !got.HttpOnly || got.SameSite != http.SameSiteLaxMode ||
			got.Path != "/" || got.Secure != secure || !got.Expires.Equal(exp) {
			t.Errorf("SecureCookies=%v: cookie %+v, want aias_session HttpOnly SameSite=Lax Path=/ Secure=%v expiring %s", secure, got, secure, exp)
		}
	}
}

// The forms used signed out accept a request from the console's own
// origin, or from a client that is not a browser, and refuse another
// site's.
func TestFormsUsedSignedOutRefuseAnotherSite(t *testing.T) {
	t.Parallel()
	s := routeTableServer(t, Options{PublicURL: "https://aias.example.com"})
	for _, tc := range []struct {
		header map[string]string
		ok     bool
	}{
		{map[string]string{}, true},
		{map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{map[string]string{"Sec-Fetch-Site": "none"}, true},
		{map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://aias.example.com"}, false},
		{map[string]string{"Origin": "https://aias.example.com"}, true},
		{map[string]string{"Origin": "http://internal:8080"}, true}, // the request's own host
		{map[string]string{"Origin": "https://evil.example"}, false},
		{map[string]string{"Origin": "null"}, false},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://internal:8080/api/v1/session", nil)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		err := s.sameOrigin(s.echo.NewContext(req, httptest.NewRecorder()))
		if (err == nil) != tc.ok {
			t.Errorf("sameOrigin(%v) = %v, want ok=%v", tc.header, err, tc.ok)
		}
	}
}

// After logging in, the browser goes only to a path of this server.
func TestLoginSendsOnlyToALocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/runs?status=failed": "/runs?status=failed", "": "/", "https://evil.example/": "/",
		"//evil.example/x": "/", "/\\evil.example": "/", "runs": "/", "/runs/abc": "/runs/abc",
		// The console's script once filled {x} with "", leaving //evil.example.
		"/{x}/evil.example/phish": "/", "/account?x={csrf_token}": "/",
		// Browsers drop tabs and newlines and read a backslash as a slash.
		"/\t/evil.example": "/", "/\n/evil.example": "/", "/a\\..\\..\\evil": "/", "/ /evil.example": "/",
		"/runs?q=%7Bx%7D": "/runs?q=%7Bx%7D", "/\u00e9": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
	if strings.Contains(localPath("javascript:alert(1)"), "javascript") {
		t.Error("localPath kept a javascript: URL")
	}
}

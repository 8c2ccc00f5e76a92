package ingress

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/errs"
)

// SessionCookie is the name of the console's sign-in cookie. It holds the
// sign-in token (docs/accounts.md); only its SHA-256 is stored.
const SessionCookie = "aias_session"

// PollHeader marks a request a console page makes on its own, "1" (a live
// view's reload, console.js). It is not the person's activity, so a tab
// left open still ends its sign-in at the idle timeout. A header only the
// page's script sets: all it can do is not refresh its own sign-in.
const PollHeader = "X-Console-Poll"

// CSRFHeader carries the sign-in's CSRF token on a script's request; a
// form sends it as the csrf_token field.
const CSRFHeader = "X-CSRF-Token"

var (
	errCSRF = errs.E(errs.Forbidden, "csrf_failed",
		"this change was sent without the sign-in's CSRF token (X-CSRF-Token or csrf_token); reload the page and try again")
	errCrossSite = errs.E(errs.Forbidden, "cross_site", "this form must be sent from the console's own pages")
	errNoSession = errs.E(errs.Invalid, "session_required", "this route acts on a console sign-in, not an API key")
)

type signInKey struct{}

// signedIn is the sign-in a request came with, for the pages and the
// session routes: the account principal and the cookie's token.
type signedIn struct {
	principal account.Principal
	token     string
}

func signIn(c echo.Context) (signedIn, bool) {
	v, ok := c.Request().Context().Value(signInKey{}).(signedIn)
	return v, ok
}

// sessionCaller resolves the sign-in cookie, if any (ok false without
// one). A request that may change something (anything but GET, HEAD and
// OPTIONS) must carry the sign-in's CSRF token, or it is refused before
// the role check: a cross-site form or fetch cannot read the token, so it
// cannot act with the cookie the browser attaches.
func (s *Server) sessionCaller(c echo.Context) (auth.Principal, bool, error) {
	ck, err := c.Cookie(SessionCookie)
	if err != nil || ck.Value == "" || s.accounts == nil {
		return auth.Principal{}, false, nil
	}
	authenticate := s.accounts.Authenticate
	if unattended(c) {
		authenticate = s.accounts.AuthenticateUnattended
	}
	ap, err := authenticate(c.Request().Context(), ck.Value)
	if err != nil {
		return auth.Principal{}, true, err
	}
	if !safeMethod(c.Request().Method) && !account.VerifyCSRF(ck.Value, presentedCSRF(c)) {
		return auth.Principal{}, true, errCSRF
	}
	ctx := context.WithValue(c.Request().Context(), signInKey{}, signedIn{principal: ap, token: ck.Value})
	c.SetRequest(c.Request().WithContext(ctx))
	return auth.Principal{UserID: ap.UserID, TenantID: ap.TenantID, Role: ap.Role}, true, nil
}

// unattended: a read the page made on its own (PollHeader).
func unattended(c echo.Context) bool {
	return safeMethod(c.Request().Method) && c.Request().Header.Get(PollHeader) == "1"
}

// presentedCSRF is the token a request carries: the header, or a form's
// csrf_token field (read only from a form body, never from JSON).
func presentedCSRF(c echo.Context) string {
	if v := c.Request().Header.Get(CSRFHeader); v != "" {
		return v
	}
	switch mediaType(c) {
	case echo.MIMEApplicationForm, echo.MIMEMultipartForm:
		return c.FormValue("csrf_token")
	}
	return ""
}

// sameOrigin guards the forms used signed out (login, signup, accepting an
// invitation, a password reset), which have no CSRF token yet: a browser
// says where a request comes from (Sec-Fetch-Site, Origin), and one from
// another site is refused. A client that sends neither header is not a
// browser acting for someone, so it has no cookie to misuse.
func (s *Server) sameOrigin(c echo.Context) error {
	r := c.Request()
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return nil
	case "same-site", "cross-site":
		return errCrossSite
	}
	origin := r.Header.Get(echo.HeaderOrigin)
	if origin == "" {
		return nil
	}
	if origin == "null" || !s.ownOrigin(origin, r) {
		return errCrossSite
	}
	return nil
}

// ownOrigin: origin is the public URL's, or the request's own host.
func (s *Server) ownOrigin(origin string, r *http.Request) bool {
	if pu, err := url.Parse(s.opt.PublicURL); err == nil && pu.Host != "" && strings.EqualFold(origin, pu.Scheme+"://"+pu.Host) {
		return true
	}
	o, err := url.Parse(origin)
	return err == nil && strings.EqualFold(o.Host, r.Host)
}

// setSessionCookie hands the browser a new sign-in: HttpOnly, SameSite=Lax,
// Secure outside dev, ending when the sign-in does at the latest.
func (s *Server) setSessionCookie(c echo.Context, in account.SignIn) {
	c.SetCookie(&http.Cookie{ //nolint:gosec // G124: Secure everywhere but dev, which serves http on 127.0.0.1
		Name: SessionCookie, Value: in.Token, Path: "/", Expires: in.Principal.ExpiresAt,
		HttpOnly: true, Secure: s.opt.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{ //nolint:gosec // G124: as setSessionCookie
		Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HttpOnly: true, Secure: s.opt.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

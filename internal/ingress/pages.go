package ingress

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"aias/internal/account"
	"aias/internal/console"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
	"aias/internal/tenant"
)

// The console's pages are entries of the route table marked as pages
// (routes.go): they pass the same authenticate as the API, and their
// handlers read through the same domain functions, in the tenant's
// transaction, then hand what they read to package console to draw. This
// file is the plumbing every page shares (docs/console.md).

// pageErrors wraps a page: every answer carries the console's security
// headers; a request that is not signed in (or whose sign-in ended) is
// sent to /login and back, but a page's own reload answers 401, or the
// script, following the redirect, would draw the login page inside the
// page; any other error is drawn as a page, with the
// status and the words its problem would have.
func (s *Server) pageErrors(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		console.SecurityHeaders(c.Response().Header())
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		err := h(c)
		if err == nil || c.Response().Committed {
			return err
		}
		if e, ok := errs.As(err); ok && e.Kind == errs.Unauthorized {
			if _, cerr := c.Cookie(SessionCookie); cerr == nil {
				s.clearSessionCookie(c)
			}
			if partial(c) {
				return c.NoContent(http.StatusUnauthorized)
			}
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		p := problemFor(err)
		if p.Status >= 500 {
			logging.From(c.Request().Context()).Error().Err(err).Int("status", p.Status).Msg("page failed")
		}
		data := map[string]string{"Title": p.Title, "Detail": p.Detail, "RequestID": c.Response().Header().Get(echo.HeaderXRequestID)}
		return s.renderStatus(c, p.Status, "error.html", console.Page{Title: p.Title, Data: data})
	}
}

// partial: the request is a page's own reload (a fragment, or a read the
// script marks as unattended), not a navigation.
func partial(c echo.Context) bool {
	return c.QueryParam("fragment") != "" || unattended(c)
}

// page draws a page for the caller: the layout's session part (who, which
// tenant, the CSRF token) is filled from the sign-in, when there is one.
func (s *Server) page(c echo.Context, tmpl, title, active string, data any) error {
	pg := console.Page{Title: title, Active: active, Data: data}
	sess, err := s.sessionView(c)
	if err != nil {
		return err
	}
	pg.Session = sess
	return s.renderStatus(c, http.StatusOK, tmpl, pg)
}

// sessionView is what the layout shows of the sign-in (nil signed out).
func (s *Server) sessionView(c echo.Context) (*console.Session, error) {
	in, ok := signIn(c)
	if !ok {
		return nil, nil
	}
	t, err := read(s, c, func(ctx context.Context, q postgres.Querier) (tenant.Tenant, error) {
		return tenant.Get(ctx, q, in.principal.TenantID)
	})
	if err != nil {
		return nil, err
	}
	return &console.Session{Email: in.principal.Email, TenantName: t.Name, Role: in.principal.Role,
		CSRF: account.CSRFToken(in.token)}, nil
}

func (s *Server) renderStatus(c echo.Context, status int, tmpl string, pg console.Page) error {
	var buf bytes.Buffer
	if err := console.Render(&buf, tmpl, pg); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// fragment draws one part of a page (a live view's reload); live says
// whether the view should keep reloading (X-Live).
func (s *Server) fragment(c echo.Context, tmpl, name string, live bool, data any) error {
	var buf bytes.Buffer
	if err := console.Fragment(&buf, tmpl, name, console.Page{Data: data, Session: &console.Session{Role: principal(c).Role}}); err != nil {
		return err
	}
	if live {
		c.Response().Header().Set("X-Live", "true")
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// serveAsset is GET /assets/:name: the console's embedded files.
func serveAsset(c echo.Context) error {
	a, ok := console.LookupAsset(c.Param("name"))
	if !ok {
		return errs.NotFoundf("no such asset")
	}
	h := c.Response().Header()
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("ETag", a.ETag)
	if c.Request().Header.Get("If-None-Match") == a.ETag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.ContentType, a.Body)
}

// localPath is next when it is a clean path of this server ("/runs?x"),
// else "/": a login link cannot send the person elsewhere afterwards. A
// browser reads more into a URL than url.Parse does (it drops tabs and
// newlines, takes a backslash for a slash), so anything such a reading
// could turn into another origin is refused outright; so are braces, the
// placeholders of a form's data-then, and anything not plain ASCII (a
// path this server sent is percent-encoded already).
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, unsafeInPath) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// unsafeInPath is a character localPath refuses.
func unsafeInPath(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '\\' || r == '{' || r == '}' || r > 0x7e
}

// The pages used signed out.

func (s *Server) loginPage(c echo.Context) error {
	data := map[string]any{"Next": localPath(c.QueryParam("next")), "SignupOpen": s.opt.SignupEnabled, "Notice": ""}
	if c.QueryParam("reset") != "" {
		data["Notice"] = "Your password is set. Log in with it."
	}
	return s.page(c, "login.html", "Log in", "", data)
}

func (s *Server) signupPage(c echo.Context) error {
	return s.page(c, "signup.html", "Create an account", "", map[string]any{"SignupOpen": s.opt.SignupEnabled})
}

func (s *Server) invitePage(c echo.Context) error {
	if s.accounts == nil {
		return errNoAccounts
	}
	token := c.QueryParam("token")
	inv, err := s.accounts.LookupInvite(c.Request().Context(), token)
	if err != nil {
		return err
	}
	return s.page(c, "invite.html", "Accept an invitation", "", map[string]any{"Invite": inv, "Token": token})
}

func (s *Server) resetPage(c echo.Context) error {
	token := c.QueryParam("token")
	data := map[string]any{"Token": "", "Email": "", "Sent": c.QueryParam("sent") != ""}
	if token != "" {
		if s.accounts == nil {
			return errNoAccounts
		}
		email, err := s.accounts.LookupReset(c.Request().Context(), token)
		if err != nil {
			return err
		}
		data["Token"], data["Email"] = token, email
	}
	return s.page(c, "reset.html", "Reset your password", "", data)
}

// accountPage is the signed-in person's own page: their sign-ins here,
// ending one, and logging out everywhere. An API key has no sign-ins.
func (s *Server) accountPage(c echo.Context) error {
	data := map[string]any{"Email": "", "Role": principal(c).Role, "Sessions": []account.Session{}}
	if in, ok := signIn(c); ok {
		sessions, err := s.accounts.ListSessions(c.Request().Context(), in.principal)
		if err != nil {
			return err
		}
		data["Email"], data["Sessions"] = in.principal.Email, sessions
	}
	return s.page(c, "account.html", "Your account", "", data)
}

package ingress

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/errs"
)

// The account routes (docs/accounts.md, docs/console.md): a person's
// signup, sign-in and sign-out, their sign-ins, invitations, password
// resets and members. The forms used signed out are checked for their
// origin (sameOrigin); the others go through authenticate like any route,
// so a sign-in's change carries its CSRF token.

var errNoAccounts = errs.E(errs.Unavailable, "accounts_unavailable", "this server has no accounts service")

// sessionJSON answers a sign-in: who, for which tenant, until when, and
// the CSRF token a script sends with its changes. The token itself is only
// in the cookie.
type sessionJSON struct {
	UserID    uuid.UUID `json:"user_id"`
	Email     string    `json:"email"`
	TenantID  uuid.UUID `json:"tenant_id"`
	Role      auth.Role `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	CSRFToken string    `json:"csrf_token"`
}

func (s *Server) signedInAnswer(c echo.Context, status int, in account.SignIn) error {
	s.setSessionCookie(c, in)
	p := in.Principal
	return c.JSON(status, sessionJSON{UserID: p.UserID, Email: p.Email, TenantID: p.TenantID, Role: p.Role,
		ExpiresAt: p.ExpiresAt, CSRFToken: account.CSRFToken(in.Token)})
}

// publicForm is the common start of a form used signed out.
func (s *Server) publicForm(c echo.Context, v any) error {
	if s.accounts == nil {
		return errNoAccounts
	}
	if err := s.sameOrigin(c); err != nil {
		return err
	}
	return bindJSON(c, v)
}

type personSignup struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	TenantName string `json:"tenant_name"`
}

// signupPerson is POST /api/v1/accounts: a person signs up with a
// password; a tenant they own is made and they are signed in. It is open
// when the API's signup is (AIAS_SIGNUP_ENABLED), and spends the same
// per-address budget.
func (s *Server) signupPerson(c echo.Context) error {
	if !s.opt.SignupEnabled {
		return errs.E(errs.Forbidden, "signup_disabled", "signup is disabled on this server")
	}
	if err := s.spendSignup(c); err != nil {
		return err
	}
	var req personSignup
	if err := s.publicForm(c, &req); err != nil {
		return err
	}
	in, err := s.accounts.Signup(c.Request().Context(), account.NewAccount{Email: req.Email, Password: req.Password,
		TenantName: req.TenantName, IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return err
	}
	return s.signedInAnswer(c, http.StatusCreated, in)
}

type loginRequest struct {
	Email    string    `json:"email"`
	Password string    `json:"password"`
	TenantID uuid.UUID `json:"tenant_id"`
}

// login is POST /api/v1/session.
func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := s.publicForm(c, &req); err != nil {
		return err
	}
	in, err := s.accounts.Login(c.Request().Context(), account.Credentials{Email: req.Email, Password: req.Password,
		TenantID: req.TenantID, IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return err
	}
	return s.signedInAnswer(c, http.StatusCreated, in)
}

// mySignIn is the calling sign-in, for the routes that act on one.
func mySignIn(c echo.Context) (signedIn, error) {
	in, ok := signIn(c)
	if !ok {
		return signedIn{}, errNoSession
	}
	return in, nil
}

// personOn is the calling sign-in for a route that acts as a person on an
// object of kind (its :id). An API key gets 400 session_required for the
// tenant's own object and 404 for anything else, like every key asking
// for an object its tenant does not have.
func (s *Server) personOn(c echo.Context, kind string) (signedIn, error) {
	if in, ok := signIn(c); ok {
		return in, nil
	}
	p := principal(c)
	exists, err := s.objectExists(c.Request().Context(), p.TenantID, kind, objectParam(c))
	if err != nil {
		return signedIn{}, err
	}
	if !exists {
		return signedIn{}, errs.NotFoundf("not found")
	}
	return signedIn{}, errNoSession
}

// logout is DELETE /api/v1/session.
func (s *Server) logout(c echo.Context) error {
	in, err := mySignIn(c)
	if err != nil {
		return err
	}
	if err := s.accounts.Logout(c.Request().Context(), in.token); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

// logoutEverywhere is POST /api/v1/session/logout-everywhere.
func (s *Server) logoutEverywhere(c echo.Context) error {
	in, err := mySignIn(c)
	if err != nil {
		return err
	}
	n, err := s.accounts.LogoutEverywhere(c.Request().Context(), in.token)
	if err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.JSON(http.StatusOK, map[string]int{"ended": n})
}

// listSessions is GET /api/v1/sessions: the caller's live sign-ins here
// (an API key has none).
func (s *Server) listSessions(c echo.Context) error {
	in, ok := signIn(c)
	if !ok {
		return c.JSON(http.StatusOK, newList([]account.Session{}, ""))
	}
	out, err := s.accounts.ListSessions(c.Request().Context(), in.principal)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(out, ""))
}

// revokeSession is DELETE /api/v1/sessions/:id: sign out another device.
func (s *Server) revokeSession(c echo.Context) error {
	in, err := s.personOn(c, objSession)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.accounts.RevokeSession(c.Request().Context(), in.principal, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type inviteRequest struct {
	Email string    `json:"email"`
	Role  auth.Role `json:"role"`
}

type invitedJSON struct {
	account.Invitation
	Link string `json:"link"`
	Sent bool   `json:"sent"`
}

// invite is POST /api/v1/invites: the link is in this answer only.
func (s *Server) invite(c echo.Context) error {
	in, err := mySignIn(c)
	if err != nil {
		return err
	}
	var req inviteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	out, err := s.accounts.Invite(c.Request().Context(), in.principal, req.Email, req.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, invitedJSON{Invitation: out.Invitation, Link: out.Link, Sent: out.Sent})
}

// asPerson is the account principal of the caller: the sign-in's, or (for
// the routes a key may read) the key's tenant and role with no user.
func asPerson(c echo.Context) account.Principal {
	if in, ok := signIn(c); ok {
		return in.principal
	}
	p := principal(c)
	return account.Principal{TenantID: p.TenantID, Role: p.Role}
}

// listInvites is GET /api/v1/invites.
func (s *Server) listInvites(c echo.Context) error {
	out, err := s.accounts.ListInvites(c.Request().Context(), asPerson(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(out, ""))
}

// revokeInvite is DELETE /api/v1/invites/:id.
func (s *Server) revokeInvite(c echo.Context) error {
	in, err := s.personOn(c, objInvite)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.accounts.RevokeInvite(c.Request().Context(), in.principal, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type acceptRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// acceptInvite is POST /api/v1/invites/accept: joins and signs in.
func (s *Server) acceptInvite(c echo.Context) error {
	var req acceptRequest
	if err := s.publicForm(c, &req); err != nil {
		return err
	}
	in, err := s.accounts.AcceptInvite(c.Request().Context(), account.Acceptance{Token: req.Token, Password: req.Password,
		IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return err
	}
	return s.signedInAnswer(c, http.StatusCreated, in)
}

type resetRequest struct {
	Email string `json:"email"`
}

// requestReset is POST /api/v1/password-resets: the same answer for every
// email (503 mail_not_configured without SMTP).
func (s *Server) requestReset(c echo.Context) error {
	var req resetRequest
	if err := s.publicForm(c, &req); err != nil {
		return err
	}
	if err := s.accounts.RequestReset(c.Request().Context(), req.Email, c.RealIP()); err != nil {
		return err
	}
	return c.NoContent(http.StatusAccepted)
}

// completeReset is POST /api/v1/password-resets/complete.
func (s *Server) completeReset(c echo.Context) error {
	var req acceptRequest
	if err := s.publicForm(c, &req); err != nil {
		return err
	}
	if err := s.accounts.ResetPassword(c.Request().Context(), req.Token, req.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listMembers is GET /api/v1/members.
func (s *Server) listMembers(c echo.Context) error {
	out, err := s.accounts.ListMembers(c.Request().Context(), asPerson(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(out, ""))
}

type roleRequest struct {
	Role auth.Role `json:"role"`
}

// changeRole is PATCH /api/v1/members/:id {"role"}.
func (s *Server) changeRole(c echo.Context) error {
	in, err := s.personOn(c, objMember)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req roleRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	m, err := s.accounts.ChangeRole(c.Request().Context(), in.principal, id, req.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

// removeMember is DELETE /api/v1/members/:id (anyone may remove
// themselves).
func (s *Server) removeMember(c echo.Context) error {
	in, err := s.personOn(c, objMember)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.accounts.RemoveMember(c.Request().Context(), in.principal, id); err != nil {
		return err
	}
	if id == in.principal.UserID {
		s.clearSessionCookie(c)
	}
	return c.NoContent(http.StatusNoContent)
}

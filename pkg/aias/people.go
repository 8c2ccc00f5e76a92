package aias

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// A person acts through the same /api/v1 routes as a key, signed in: the
// aias_session cookie, and on every state-changing request the sign-in's
// CSRF token (docs/accounts.md). LogIn, SignUpPerson and AcceptInvite
// return a Client that carries both; the Client they are called on is
// left as it was.

// SessionCookie is the name of the sign-in cookie a signed-in Client sends.
const SessionCookie = "aias_session"

// CSRFHeader carries a sign-in's CSRF token on each request that changes
// something (anything but GET, HEAD and OPTIONS).
const CSRFHeader = "X-CSRF-Token"

// SignIn logs a person in to the AIAS server at baseURL: New, then LogIn.
// The Client acts as the person, in the tenant of their oldest membership.
func SignIn(ctx context.Context, baseURL, email, password string, opts ...Option) (*Client, SignedIn, error) {
	c, err := New(baseURL, opts...)
	if err != nil {
		return nil, SignedIn{}, err
	}
	return c.LogIn(ctx, LoginRequest{Email: email, Password: password})
}

// LogIn signs a person in with their email and password and returns a
// Client acting as them (their cookie and CSRF token, no API key; c's other
// options kept). A wrong email or password is CodeInvalidCredentials.
// (logIn; public)
func (c *Client) LogIn(ctx context.Context, req LoginRequest) (*Client, SignedIn, error) {
	return c.signIn(ctx, http.MethodPost, "/api/v1/session", req)
}

// SignUpPerson creates a person with a password and a tenant they own,
// when the operator allows signups, and returns a Client signed in as
// them. No API key is made. (signUpPerson; public)
func (c *Client) SignUpPerson(ctx context.Context, req PersonSignupRequest) (*Client, SignedIn, error) {
	return c.signIn(ctx, http.MethodPost, "/api/v1/accounts", req)
}

// AcceptInvite joins the invitation's tenant with the link's token and a
// password (a new person's choice, or an existing account's password) and
// returns a Client signed in there. (acceptInvite; public)
func (c *Client) AcceptInvite(ctx context.Context, req TokenPassword) (*Client, SignedIn, error) {
	return c.signIn(ctx, http.MethodPost, "/api/v1/invites/accept", req)
}

// signIn sends one of the routes that answer a new sign-in, and returns a
// copy of c that carries it.
func (c *Client) signIn(ctx context.Context, method, path string, body any) (*Client, SignedIn, error) {
	var in SignedIn
	r, err := request{method: method, path: path, public: true}.jsonBody(body)
	if err != nil {
		return nil, in, err
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, in, err
	}
	defer func() { _ = res.Body.Close() }()
	if err := json.NewDecoder(res.Body).Decode(&in); err != nil {
		return nil, in, fmt.Errorf("aias: %s %s: decode the answer: %w", method, path, err)
	}
	var session string
	for _, ck := range res.Cookies() {
		if ck.Name == SessionCookie && ck.Value != "" {
			session = ck.Value
		}
	}
	if session == "" {
		return nil, in, fmt.Errorf("aias: %s %s: the answer set no %s cookie", method, path, SessionCookie)
	}
	p := *c
	p.key, p.session, p.csrf = "", session, in.CSRFToken
	return &p, in, nil
}

// LogOut ends this Client's sign-in; later calls get CodeUnauthenticated.
// A key gets CodeSessionRequired. (logOut; viewer)
func (c *Client) LogOut(ctx context.Context) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/session"}, nil)
}

// LogOutEverywhere ends every sign-in of the calling person, in every
// tenant, this one included, and says how many ended.
// (logOutEverywhere; viewer)
func (c *Client) LogOutEverywhere(ctx context.Context) (int, error) {
	var out endedSignIns
	err := c.call(ctx, request{method: http.MethodPost, path: "/api/v1/session/logout-everywhere"}, &out)
	return out.Ended, err
}

// ListSessions lists the calling person's live sign-ins in this tenant,
// most recently used first. (listSessions; viewer)
func (c *Client) ListSessions(ctx context.Context) ([]Session, error) {
	var p Page[Session]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/sessions"}, &p)
	return p.Data, err
}

// RevokeSession ends another sign-in of the calling person (a sign-in of
// someone else is CodeNotFound). (revokeSession; viewer)
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/sessions/" + pathID(id)}, nil)
}

// Invite invites an email with a role no higher than the caller's; the
// one-time link is in this answer only (and emailed when SMTP is set up:
// Sent). (invite; admin, signed in)
func (c *Client) Invite(ctx context.Context, req InviteRequest) (CreatedInvitation, error) {
	var out CreatedInvitation
	r, err := request{method: http.MethodPost, path: "/api/v1/invites"}.jsonBody(req)
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}

// ListInvites lists the tenant's invitations, newest first, never their
// links. (listInvites; admin)
func (c *Client) ListInvites(ctx context.Context) ([]Invitation, error) {
	var p Page[Invitation]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/invites"}, &p)
	return p.Data, err
}

// RevokeInvite revokes an invitation; its link stops working.
// (revokeInvite; admin, signed in)
func (c *Client) RevokeInvite(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/invites/" + pathID(id)}, nil)
}

// RequestPasswordReset emails a one-time reset link if a person has this
// email, with the same answer either way; without SMTP it is
// CodeMailNotConfigured. (requestPasswordReset; public)
func (c *Client) RequestPasswordReset(ctx context.Context, email string) error {
	r, err := request{method: http.MethodPost, path: "/api/v1/password-resets", public: true}.jsonBody(passwordResetRequest{Email: email})
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// CompletePasswordReset sets a new password with a reset link's token;
// every sign-in of the person ends. (completePasswordReset; public)
func (c *Client) CompletePasswordReset(ctx context.Context, req TokenPassword) error {
	r, err := request{method: http.MethodPost, path: "/api/v1/password-resets/complete", public: true}.jsonBody(req)
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// ListMembers lists the tenant's people and their roles, oldest first.
// (listMembers; viewer)
func (c *Client) ListMembers(ctx context.Context) ([]Member, error) {
	var p Page[Member]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/members"}, &p)
	return p.Data, err
}

// ChangeMemberRole gives a member (by user id) another role, never to,
// from or over one above the caller's; the last owner stays one.
// (changeMemberRole; admin, signed in)
func (c *Client) ChangeMemberRole(ctx context.Context, userID string, role Role) (Member, error) {
	var m Member
	r, err := request{method: http.MethodPatch, path: "/api/v1/members/" + pathID(userID)}.jsonBody(memberRoleRequest{Role: role})
	if err == nil {
		err = c.call(ctx, r, &m)
	}
	return m, err
}

// RemoveMember removes a member (by user id) from the tenant, ending their
// sign-ins to it; anyone may remove themselves. (removeMember; viewer,
// signed in)
func (c *Client) RemoveMember(ctx context.Context, userID string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/members/" + pathID(userID)}, nil)
}

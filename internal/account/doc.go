// Package account holds the people who use the console: passwords, browser
// sign-ins (sessions), invitations, password resets and memberships. API
// keys (internal/auth) stay for machines; a person signs in with an email
// and a password.
//
// # Storage
//
// Migration 00024 adds user_credentials (one argon2id hash per user),
// user_sessions and invites (tenant tables: forced row-level security, the
// standard policy), password_resets and login_failures (no tenant: reached
// only through SECURITY DEFINER functions). Tokens are 32 random bytes in
// unpadded base64url; only their SHA-256 is stored. Every expiry is decided
// by Postgres's now(), never by a caller's clock. Whatever precedes knowing
// the tenant (a sign-in by email, a cookie's token, an invitation or reset
// link) goes through one narrow SECURITY DEFINER function each
// (docs/accounts.md lists them).
//
// # Passwords
//
// Hashes are PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$key) made with
// Options.Params (DefaultParams: 19 MiB, 2 passes, 1 lane). Raising Params
// is safe at any time: old hashes verify with the costs they carry and are
// replaced at the user's next sign-in. CheckPassword is the rule for every
// new password: at least 12 characters, not on the embedded list of common
// passwords (nor such a password wrapped in digits and symbols, nor a
// repetition or a keyboard run), and not containing the email's name.
//
// # What the HTTP layer does with it
//
//	Signup(ctx, NewAccount)             → SignIn          POST /signup
//	Login(ctx, Credentials)             → SignIn          POST /login
//	Authenticate(ctx, cookieToken)      → Principal       every console request
//	AuthenticateUnattended(ctx, token)  → Principal       a page's own reload (not activity)
//	Logout(ctx, cookieToken)                              POST /logout
//	LogoutEverywhere(ctx, cookieToken)  → count           POST /logout-everywhere
//	ListSessions / RevokeSession(ctx, Principal, …)       the user's sign-ins
//	Invite(ctx, Principal, email, role) → Invited         link shown once (and emailed with a Mailer)
//	ListInvites / RevokeInvite(ctx, Principal, …)
//	LookupInvite(ctx, token) / AcceptInvite(ctx, Acceptance) → SignIn   GET/POST /invite?token=
//	CreateResetLink(ctx, email)         → link            aias user reset-link (operators)
//	RequestReset(ctx, email, ip)                          "forgot password" (needs a Mailer)
//	LookupReset(ctx, token) / ResetPassword(ctx, token, password)       GET/POST /reset?token=
//	ListMembers / ChangeRole / RemoveMember(ctx, Principal, …)
//	CSRFToken(cookieToken) / VerifyCSRF(cookieToken, presented)
//
// SignIn.Token is the cookie's value: HttpOnly, Secure outside dev,
// SameSite=Lax, Path=/, no Max-Age beyond Principal.ExpiresAt. It is shown
// nowhere else and never logged. Every state-changing request of a signed-in
// browser must carry CSRFToken(cookie) — as the form field csrf_token, or
// the X-CSRF-Token header for fetch — and is refused (403) unless
// VerifyCSRF(cookie, presented) holds. Requests without a session (login,
// signup, accepting an invitation, resetting a password) have no CSRF token;
// the HTTP layer refuses them when Origin (or Sec-Fetch-Site) names another
// site.
//
// The Principal's Role is the membership's role at this request: a demoted
// or removed member loses access on their next request. Methods taking a
// Principal check the role themselves as well (the route table checks it
// first), so a forged POST by a viewer is refused here too.
//
// Errors are errs values with stable codes (invalid_credentials,
// unauthenticated, rate_limited with RetryAfter, invite_invalid,
// reset_invalid, email_taken, password_reset_required, last_owner,
// already_member, forbidden, role_too_high, mail_not_configured,
// validation_failed) for the one error table at the HTTP edge.
package account

package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// Credentials is a sign-in attempt. TenantID, when set, picks which of the
// user's tenants the sign-in acts for (the oldest membership otherwise). IP
// and UserAgent are the client's, for rate limiting and the user's list of
// sign-ins.
type Credentials struct {
	Email     string
	Password  string
	TenantID  uuid.UUID
	IP        string
	UserAgent string
}

// NewAccount is a person's signup.
type NewAccount struct {
	Email      string
	Password   string
	TenantName string
	IP         string
	UserAgent  string
}

// errNoSession: the password was right but no sign-in could be made (the
// hash changed meanwhile, or the user belongs to no active tenant).
var errNoSession = errors.New("no session created")

// Signup creates a user with a password, a tenant they own, and signs them
// in. No API key is minted (keys are for machines; an owner makes one from
// the console). An email that already has an account is refused
// (ErrEmailTaken), whatever its password, so a signup never takes over an
// identity made by the API's signup or an invitation.
func (s *Service) Signup(ctx context.Context, n NewAccount) (SignIn, error) {
	email, name := normalizeEmail(n.Email), strings.TrimSpace(n.TenantName)
	if err := signupProblems(email, name, n.Password); err != nil {
		return SignIn{}, err
	}
	if err := s.allowIP(ctx, n.IP); err != nil {
		return SignIn{}, err
	}
	hash, err := s.hasher.Hash(ctx, n.Password)
	if err != nil {
		return SignIn{}, err
	}
	var tenantID, userID uuid.UUID
	row := s.db.QueryRowxContext(ctx, `SELECT tenant_id, user_id FROM aias_account_signup($1, $2, $3, $4)`,
		email, name, hash, logging.RequestID(ctx))
	if err := row.Scan(&tenantID, &userID); err != nil {
		if postgres.IsUniqueViolation(err) {
			return SignIn{}, ErrEmailTaken
		}
		return SignIn{}, fmt.Errorf("sign up: %w", postgres.Classify(err))
	}
	return s.startSession(ctx, userID, tenantID, hash, n.IP, n.UserAgent)
}

func signupProblems(email, name, password string) error {
	var fields []errs.FieldError
	if f := emailProblem(email); f != nil {
		fields = append(fields, *f)
	}
	if name == "" || len(name) > 200 {
		fields = append(fields, errs.FieldError{Path: "tenant_name", Message: "must be 1 to 200 characters"})
	}
	if msg := passwordProblem(password, email); msg != "" {
		fields = append(fields, errs.FieldError{Path: "password", Message: msg})
	}
	if len(fields) > 0 {
		return errs.Validation("signup is not valid", fields...)
	}
	return nil
}

// Login checks an email and password and signs the user in. An unknown
// email and a wrong password take the same path (one look-up, one argon2id
// verification, one failure record) and answer the same ErrBadCredentials.
// Every refused attempt is recorded (aias_login_failed). With a Limiter,
// attempts over the per-IP or per-account budget are refused with
// errs.RateLimited before any password work.
func (s *Service) Login(ctx context.Context, c Credentials) (SignIn, error) {
	email := normalizeEmail(c.Email)
	if s.opts.Limiter != nil {
		if err := s.opts.Limiter.Allow(ctx, email, c.IP); err != nil {
			return SignIn{}, err
		}
	}
	userID, hash, err := s.verify(ctx, email, c.Password)
	if errors.Is(err, ErrBadCredentials) {
		return SignIn{}, s.failed(ctx, email, c.IP, c.UserAgent, failReason(userID))
	}
	if err != nil {
		return SignIn{}, err
	}
	in, err := s.startSession(ctx, userID, c.TenantID, hash, c.IP, c.UserAgent)
	if errors.Is(err, errNoSession) {
		return SignIn{}, s.failed(ctx, email, c.IP, c.UserAgent, "no_tenant")
	}
	return in, err
}

func failReason(userID uuid.UUID) string {
	if userID == uuid.Nil {
		return "unknown_email"
	}
	return "wrong_password"
}

// verify checks password against the stored hash of email's user and
// returns the user with the hash now stored (rehashed when its parameters
// were older). ErrBadCredentials comes with the user's id when the email is
// known, uuid.Nil when it is not.
func (s *Service) verify(ctx context.Context, email, password string) (uuid.UUID, string, error) {
	var row struct {
		UserID uuid.UUID `db:"user_id"`
		Hash   string    `db:"password_hash"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT user_id, password_hash FROM aias_login_lookup($1)`, email)
	if err != nil && !postgres.IsNoRows(err) {
		return uuid.Nil, "", fmt.Errorf("look up login: %w", postgres.Classify(err))
	}
	if len(password) > MaxPasswordLen {
		return row.UserID, "", ErrBadCredentials
	}
	if postgres.IsNoRows(err) {
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return uuid.Nil, "", err
		}
		return uuid.Nil, "", ErrBadCredentials
	}
	ok, err := s.hasher.Verify(ctx, password, row.Hash)
	if err != nil {
		return uuid.Nil, "", fmt.Errorf("verify password of user %s: %w", row.UserID, err)
	}
	if !ok {
		return row.UserID, "", ErrBadCredentials
	}
	return row.UserID, s.upgrade(ctx, row.UserID, password, row.Hash), nil
}

// upgrade rehashes a password whose hash has older parameters and returns
// the hash stored afterwards. Failing to upgrade is not failing to sign in:
// the old hash stays, and the next sign-in tries again.
func (s *Service) upgrade(ctx context.Context, userID uuid.UUID, password, old string) string {
	if !s.hasher.NeedsRehash(old) {
		return old
	}
	fresh, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return old
	}
	var done bool
	err = s.db.GetContext(ctx, &done, `SELECT aias_password_rehash($1, $2, $3)`, userID, old, fresh)
	if err != nil || !done {
		s.opts.Log.Warn().Err(err).Str("user_id", userID.String()).Msg("password hash not upgraded")
		return old
	}
	return fresh
}

// failed records a refused sign-in and returns the answer the client gets.
// A failure that cannot be recorded is a storage error, for both kinds of
// failure alike.
func (s *Service) failed(ctx context.Context, email, ip, userAgent, reason string) error {
	_, err := s.db.ExecContext(ctx, `SELECT aias_login_failed($1, $2, $3, $4, $5)`,
		clip(email, 254), clip(ip, 64), clip(userAgent, 512), reason, logging.RequestID(ctx))
	if err != nil {
		return fmt.Errorf("record login failure: %w", postgres.Classify(err))
	}
	return ErrBadCredentials
}

// startSession makes a sign-in for a user whose password hash was just
// verified (tenantID uuid.Nil: their oldest membership).
func (s *Service) startSession(ctx context.Context, userID, tenantID uuid.UUID, hash, ip, userAgent string) (SignIn, error) {
	token := newToken()
	var tenant *uuid.UUID
	if tenantID != uuid.Nil {
		tenant = &tenantID
	}
	var row struct {
		ID        uuid.UUID `db:"id"`
		TenantID  uuid.UUID `db:"tenant_id"`
		Role      auth.Role `db:"role"`
		Email     string    `db:"email"`
		CreatedAt time.Time `db:"created_at"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	const create = `SELECT id, tenant_id, role, email, created_at, expires_at
	                  FROM aias_session_create($1, $2, $3, $4, $5, $6, make_interval(secs => $7), make_interval(secs => $8), $9)`
	err := s.db.GetContext(ctx, &row, create, userID, tenant, hash, hashToken(token), clip(ip, 64), clip(userAgent, 512),
		s.opts.IdleTimeout.Seconds(), s.opts.AbsoluteTimeout.Seconds(), logging.RequestID(ctx))
	if postgres.IsNoRows(err) {
		return SignIn{}, errNoSession
	}
	if err != nil {
		return SignIn{}, fmt.Errorf("start session: %w", postgres.Classify(err))
	}
	return SignIn{Token: token, Principal: Principal{
		SessionID: row.ID, UserID: userID, Email: row.Email, TenantID: row.TenantID, Role: row.Role,
		CreatedAt: row.CreatedAt, LastSeenAt: row.CreatedAt, ExpiresAt: row.ExpiresAt,
	}}, nil
}

// Authenticate resolves the token of a session cookie. A malformed token is
// refused before any database work; an unknown, revoked, idle or expired
// sign-in, or one whose user is no longer a member of its tenant, gets
// ErrUnauthenticated. The role is the membership's role now. The use
// counts as the person's activity: the idle timeout starts again.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	return s.lookupSession(ctx, token, true)
}

// AuthenticateUnattended is Authenticate for a request a page makes on its
// own (a live view's reload): it does not count as activity, so a tab left
// open still ends its sign-in at the idle timeout.
func (s *Service) AuthenticateUnattended(ctx context.Context, token string) (Principal, error) {
	return s.lookupSession(ctx, token, false)
}

func (s *Service) lookupSession(ctx context.Context, token string, seen bool) (Principal, error) {
	if !wellFormed(token) {
		return Principal{}, ErrUnauthenticated
	}
	var p struct {
		ID         uuid.UUID `db:"id"`
		UserID     uuid.UUID `db:"user_id"`
		Email      string    `db:"email"`
		TenantID   uuid.UUID `db:"tenant_id"`
		Role       auth.Role `db:"role"`
		CreatedAt  time.Time `db:"created_at"`
		LastSeenAt time.Time `db:"last_seen_at"`
		ExpiresAt  time.Time `db:"expires_at"`
	}
	err := s.db.GetContext(ctx, &p, `SELECT id, user_id, email, tenant_id, role, created_at, last_seen_at, expires_at
	                                   FROM aias_session_lookup($1, $2)`, hashToken(token), seen)
	if postgres.IsNoRows(err) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up session: %w", postgres.Classify(err))
	}
	return Principal{SessionID: p.ID, UserID: p.UserID, Email: p.Email, TenantID: p.TenantID, Role: p.Role,
		CreatedAt: p.CreatedAt, LastSeenAt: p.LastSeenAt, ExpiresAt: p.ExpiresAt}, nil
}

// Logout ends the sign-in of token. Logging out twice, or with a token
// that names nothing, is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil
	}
	if _, err := s.revoke(ctx, token, false); err != nil {
		return err
	}
	return nil
}

// LogoutEverywhere ends every sign-in of the user whose live sign-in token
// is, in every tenant, this one included, and returns how many it ended.
func (s *Service) LogoutEverywhere(ctx context.Context, token string) (int, error) {
	if !wellFormed(token) {
		return 0, ErrUnauthenticated
	}
	n, err := s.revoke(ctx, token, true)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, ErrUnauthenticated
	}
	return n, nil
}

func (s *Service) revoke(ctx context.Context, token string, all bool) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT aias_session_revoke($1, $2, $3)`, hashToken(token), all, logging.RequestID(ctx))
	if err != nil {
		return 0, fmt.Errorf("revoke session: %w", postgres.Classify(err))
	}
	return n, nil
}

// allowIP spends one event of ip's budget when a Limiter is configured.
func (s *Service) allowIP(ctx context.Context, ip string) error {
	if s.opts.Limiter == nil {
		return nil
	}
	return s.opts.Limiter.AllowIP(ctx, ip)
}

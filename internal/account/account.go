package account

import (
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"aias/internal/auth"
	"aias/internal/errs"
	"aias/internal/postgres"
)

// Defaults of the zero Options.
const (
	DefaultIdleTimeout     = 12 * time.Hour
	DefaultAbsoluteTimeout = 7 * 24 * time.Hour
	DefaultInviteTTL       = 7 * 24 * time.Hour
	DefaultResetTTL        = time.Hour
	DefaultPublicURL       = "http://127.0.0.1:8080"
)

// Options configures a Service; zero fields take the defaults above.
type Options struct {
	IdleTimeout     time.Duration // a sign-in unused this long ends (Postgres holds it to 1 min..30 days)
	AbsoluteTimeout time.Duration // a sign-in ends this long after it began, used or not (1 min..90 days)
	InviteTTL       time.Duration // an invitation link works this long
	ResetTTL        time.Duration // a password reset link works this long (1 min..24 h)
	Params          Params        // argon2id costs of new hashes
	PublicURL       string        // base of invitation and reset links (AIAS_PUBLIC_URL)
	Mailer          Mailer        // sends links by email; nil: links are only shown
	Limiter         *Limiter      // limits sign-in attempts; nil: unlimited
	Log             zerolog.Logger
}

func (o Options) withDefaults() Options {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.AbsoluteTimeout <= 0 {
		o.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.InviteTTL <= 0 {
		o.InviteTTL = DefaultInviteTTL
	}
	if o.ResetTTL <= 0 {
		o.ResetTTL = DefaultResetTTL
	}
	if o.PublicURL == "" {
		o.PublicURL = DefaultPublicURL
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return o
}

// Service is the accounts domain over the application's pool. It is safe
// for concurrent use.
type Service struct {
	db     *postgres.DB
	hasher *Hasher
	opts   Options
	// background counts the reset emails still being sent after their
	// request was answered (Wait).
	background sync.WaitGroup
}

// New returns a Service over db, which must connect as the application role.
func New(db *postgres.DB, opts Options) *Service {
	opts = opts.withDefaults()
	return &Service{db: db, hasher: NewHasher(opts.Params), opts: opts}
}

// Wait returns once the emails being sent in the background (reset links,
// RequestReset) are sent or have given up: for a shutdown, or a test.
func (s *Service) Wait() { s.background.Wait() }

// Principal is who a console request acts as: one person, signed in, acting
// for one tenant with the role their membership has now.
type Principal struct {
	SessionID  uuid.UUID
	UserID     uuid.UUID
	Email      string
	TenantID   uuid.UUID
	Role       auth.Role
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SignIn is the result of a successful sign-in. Token goes into the
// session cookie and is never shown or stored again (only its SHA-256 is).
type SignIn struct {
	Token     string
	Principal Principal
}

// The errors callers match on (by errs code).
var (
	// ErrBadCredentials answers a wrong password and an unknown email alike.
	ErrBadCredentials = errs.E(errs.Unauthorized, "invalid_credentials", "the email or the password is wrong")
	// ErrUnauthenticated answers a missing, unknown, ended or revoked sign-in.
	ErrUnauthenticated = errs.E(errs.Unauthorized, "unauthenticated", "not signed in, or the sign-in has ended")
	ErrInviteInvalid   = errs.E(errs.NotFound, "invite_invalid", "this invitation link is unknown, used, revoked or expired")
	ErrResetInvalid    = errs.E(errs.NotFound, "reset_invalid", "this password reset link is unknown, used or expired")
	ErrEmailTaken      = errs.E(errs.Conflict, "email_taken", "an account with this email exists; sign in, or ask for a password reset link")
	ErrResetRequired   = errs.E(errs.Conflict, "password_reset_required",
		"this email has an account without a password; ask for a password reset link first")
	ErrLastOwner     = errs.E(errs.Conflict, "last_owner", "a tenant keeps at least one owner; make another member owner first")
	ErrAlreadyMember = errs.E(errs.Conflict, "already_member", "this email is already a member of the tenant")
	ErrForbidden     = errs.E(errs.Forbidden, "forbidden", "your role does not allow this")
	ErrRoleTooHigh   = errs.E(errs.Forbidden, "role_too_high", "nobody grants or changes a role above their own")
	ErrNoMailer      = errs.E(errs.Unavailable, "mail_not_configured", "email is not configured; ask an operator for a reset link")
)

// normalizeEmail is the form emails are stored and compared in.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// emailProblem checks an email about to be stored.
func emailProblem(email string) *errs.FieldError {
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return &errs.FieldError{Path: "email", Message: "must be a plain email address"}
	}
	return nil
}

// clip bounds what a client sends for display (IP, user agent) and drops
// invalid UTF-8, which a text column refuses.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

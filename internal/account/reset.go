package account

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/logging"
	"aias/internal/postgres"
)

// CreateResetLink makes a one-time password reset link for the user with
// email (<PublicURL>/reset?token=…), valid for Options.ResetTTL; the user's
// earlier links stop working. It is the operator's tool (aias user
// reset-link) and tells whether the email is known: a page open to anyone
// uses RequestReset instead.
func (s *Service) CreateResetLink(ctx context.Context, email string) (string, error) {
	email = normalizeEmail(email)
	token := newToken()
	var userID *uuid.UUID
	err := s.db.GetContext(ctx, &userID, `SELECT aias_reset_create($1, $2, make_interval(secs => $3))`,
		email, hashToken(token), s.opts.ResetTTL.Seconds())
	if err != nil {
		return "", fmt.Errorf("create reset link: %w", postgres.Classify(err))
	}
	if userID == nil {
		return "", errs.NotFoundf("no user has the email %q", email)
	}
	return s.opts.PublicURL + "/reset?token=" + token, nil
}

// resetMailTimeout bounds the making and sending of a reset link, which
// outlive the request that asked for it.
const resetMailTimeout = 30 * time.Second

// RequestReset emails a reset link to email if a user has it, and answers
// the same (nil), as fast, whether or not one does, so the page tells
// nobody which emails have accounts: the link is made and sent in the
// background, after the answer (Wait waits for it). Without a Mailer it
// answers ErrNoMailer for every email. With a Limiter it spends ip's
// budget, and an email is sent at most DefaultResetsPerEmail links.
func (s *Service) RequestReset(ctx context.Context, email, ip string) error {
	if s.opts.Mailer == nil {
		return ErrNoMailer
	}
	if err := s.allowIP(ctx, ip); err != nil {
		return err
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), resetMailTimeout)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer cancel()
		s.sendResetLink(bg, normalizeEmail(email))
	}()
	return nil
}

// sendResetLink is RequestReset's work after the answer: nothing reaches
// the asker, so what goes wrong is logged.
func (s *Service) sendResetLink(ctx context.Context, email string) {
	log := s.opts.Log.With().Str("request_id", logging.RequestID(ctx)).Logger()
	if s.opts.Limiter != nil {
		if err := s.opts.Limiter.AllowReset(ctx, email); err != nil {
			log.Info().Msg("reset link not sent: this email was sent enough of them this hour")
			return
		}
	}
	link, err := s.CreateResetLink(ctx, email)
	if errs.Is(err, errs.NotFound) {
		return
	}
	if err != nil {
		log.Warn().Err(err).Msg("reset link not made")
		return
	}
	s.mail(ctx, Message{To: email, Subject: "Reset your AIAS password",
		Body: fmt.Sprintf("Someone asked to reset the password of this account. If it was you, choose a new password"+
			" here (the link works once, for %s):\n\n%s\n\nOtherwise ignore this email.\n", s.opts.ResetTTL.Round(time.Minute), link)})
}

// LookupReset returns the email a reset link is for, or ErrResetInvalid.
// It does not use the link.
func (s *Service) LookupReset(ctx context.Context, token string) (string, error) {
	if !wellFormed(token) {
		return "", ErrResetInvalid
	}
	var email string
	err := s.db.GetContext(ctx, &email, `SELECT email FROM aias_reset_lookup($1)`, hashToken(token))
	if postgres.IsNoRows(err) {
		return "", ErrResetInvalid
	}
	if err != nil {
		return "", fmt.Errorf("look up reset link: %w", postgres.Classify(err))
	}
	return email, nil
}

// ResetPassword uses a reset link once: the user's password becomes
// password (checked like any new password) and every sign-in of the user,
// in every tenant, ends. The user then signs in with the new password.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	email, err := s.LookupReset(ctx, token)
	if err != nil {
		return err
	}
	if err := CheckPassword(password, email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	var userID *uuid.UUID
	err = s.db.GetContext(ctx, &userID, `SELECT aias_reset_use($1, $2, $3)`, hashToken(token), hash, logging.RequestID(ctx))
	if err != nil {
		return fmt.Errorf("reset password: %w", postgres.Classify(err))
	}
	if userID == nil {
		return ErrResetInvalid
	}
	return nil
}

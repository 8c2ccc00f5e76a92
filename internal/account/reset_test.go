package account_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"aias/internal/account"
	"aias/internal/auth"
	"aias/internal/ratelimit"
	"aias/internal/tenant"
	"aias/internal/testutil/smtptest"
)

const newPassword = "velvet-canyon-88-thistle"

func TestAResetLinkWorksOnceAndEndsEverySignIn(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{PublicURL: "https://aias.example.com"})
	ctx := context.Background()
	a := signup(t, s, "forgot@example.com")
	other := signup(t, s, "team@example.com")
	join(t, s, other.Principal, "newbie@example.com", auth.Viewer)
	second, err := s.Login(ctx, account.Credentials{Email: "forgot@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	link, err := s.CreateResetLink(ctx, "Forgot@Example.com")
	if err != nil || !strings.HasPrefix(link, "https://aias.example.com/reset?token=") {
		t.Fatalf("CreateResetLink = %q, %v; want a link on the public URL", link, err)
	}
	tok := token(t, link)
	if email, err := s.LookupReset(ctx, tok); err != nil || email != "forgot@example.com" {
		t.Fatalf("LookupReset = %q, %v", email, err)
	}
	if err := s.ResetPassword(ctx, tok, newPassword); err != nil {
		t.Fatal(err)
	}
	refused(t, s, a.Token, "a password reset")
	refused(t, s, second.Token, "a password reset")
	mustAuth(t, s, other.Token)
	if _, err := s.Login(ctx, account.Credentials{Email: "forgot@example.com", Password: password}); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("Login(old password) = %v, want ErrBadCredentials", err)
	}
	if _, err := s.Login(ctx, account.Credentials{Email: "forgot@example.com", Password: newPassword}); err != nil {
		t.Errorf("Login(new password) = %v", err)
	}
	wantCode(t, "ResetPassword(second use)", s.ResetPassword(ctx, tok, "yet-another-fine-phrase"), "reset_invalid")
}

func TestANewResetLinkReplacesTheOlderOne(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	signup(t, s, "twice@example.com")
	first, err := s.CreateResetLink(ctx, "twice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.CreateResetLink(ctx, "twice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "ResetPassword(replaced link)", s.ResetPassword(ctx, token(t, first), newPassword), "reset_invalid")
	b.exec(t, `UPDATE password_resets SET expires_at = now() - interval '1 second'`)
	wantCode(t, "ResetPassword(expired link)", s.ResetPassword(ctx, token(t, second), newPassword), "reset_invalid")
}

func TestAResetRefusesAWeakPasswordAndStaysUsable(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	ctx := context.Background()
	signup(t, s, "robert@example.com")
	link, err := s.CreateResetLink(ctx, "robert@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, link)
	for _, weak := range []string{"short", "password1234", "robert-robert"} {
		wantCode(t, "ResetPassword("+weak+")", s.ResetPassword(ctx, tok, weak), "validation_failed")
	}
	if err := s.ResetPassword(ctx, tok, newPassword); err != nil {
		t.Errorf("ResetPassword(good) after refusals = %v, want nil", err)
	}
}

// An operator's reset link also gives a first password to a user made by
// the API's signup (the operator vouches for them), who can then sign in to
// the tenant they own.
func TestAResetLinkGivesAnAPIUserTheirFirstPassword(t *testing.T) {
	t.Parallel()
	s, b := setup(t, account.Options{})
	ctx := context.Background()
	api, err := tenant.Create(ctx, b.db.DB, "machine-first@example.com", "theirs")
	if err != nil {
		t.Fatal(err)
	}
	link, err := s.CreateResetLink(ctx, "machine-first@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResetPassword(ctx, token(t, link), newPassword); err != nil {
		t.Fatal(err)
	}
	in, err := s.Login(ctx, account.Credentials{Email: "machine-first@example.com", Password: newPassword})
	if err != nil || in.Principal.TenantID != api.TenantID || in.Principal.Role != auth.Owner {
		t.Errorf("Login = %+v, %v; want the owner of the tenant the API signup made", in.Principal, err)
	}
}

func TestAResetLinkForAnUnknownEmailIsNotFound(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, account.Options{})
	_, err := s.CreateResetLink(context.Background(), "ghost@example.com")
	wantCode(t, "CreateResetLink(unknown)", err, "not_found")
}

func TestRequestResetEmailsKnownUsersAndAnswersTheSameForOthers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain, _ := setup(t, account.Options{})
	wantCode(t, "RequestReset without a mailer", plain.RequestReset(ctx, "any@example.com", "192.0.2.1"), "mail_not_configured")

	srv := smtptest.New(t)
	s, _ := setup(t, account.Options{Mailer: mailer(t, srv)})
	signup(t, s, "mailme@example.com")
	for _, email := range []string{"mailme@example.com", "ghost@example.com"} {
		if err := s.RequestReset(ctx, email, "192.0.2.1"); err != nil {
			t.Errorf("RequestReset(%s) = %v, want nil", email, err)
		}
	}
	s.Wait()
	got := srv.Received()
	if len(got) != 1 || got[0].To != "mailme@example.com" || !strings.Contains(got[0].Data, "/reset?token=") {
		t.Fatalf("received %+v, want one reset link to mailme@example.com", got)
	}
	i := strings.Index(got[0].Data, "/reset?token=")
	tok := strings.Fields(got[0].Data[i+len("/reset?token="):])[0]
	if err := s.ResetPassword(ctx, tok, newPassword); err != nil {
		t.Errorf("ResetPassword(emailed link) = %v", err)
	}
}

// held is a Mailer that sends nothing until released: what a slow SMTP
// server looks like.
type held struct {
	release chan struct{}
	sent    chan account.Message
}

func (h held) Send(ctx context.Context, m account.Message) error {
	select {
	case <-h.release:
		h.sent <- m
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Asking for a link answers before the email is made and sent: a known
// email's answer takes no longer than an unknown one's, whatever the mail
// server does. The link is sent afterwards.
func TestRequestResetAnswersBeforeTheEmailIsSent(t *testing.T) {
	t.Parallel()
	h := held{release: make(chan struct{}), sent: make(chan account.Message, 1)}
	s, _ := setup(t, account.Options{Mailer: h})
	signup(t, s, "slowmail@example.com")
	answered := make(chan error, 1)
	go func() { answered <- s.RequestReset(context.Background(), "slowmail@example.com", "192.0.2.1") }()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("RequestReset = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		close(h.release)
		t.Fatal("RequestReset for a known email waited for the mail server")
	}
	close(h.release)
	s.Wait()
	select {
	case m := <-h.sent:
		if m.To != "slowmail@example.com" || !strings.Contains(m.Body, "/reset?token=") {
			t.Errorf("sent %+v, want a reset link to slowmail@example.com", m)
		}
	default:
		t.Error("no reset link was sent after the answer")
	}
}

// One email is sent at most DefaultResetsPerEmail links an hour, however
// many addresses ask; the answer stays the same.
func TestAnEmailIsSentAFewResetLinksAnHourAtMost(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	s, _ := setup(t, account.Options{Mailer: mailer(t, srv), Limiter: limited(t, ratelimit.Limit{}, ratelimit.Limit{})})
	signup(t, s, "flood@example.com")
	for i := range account.DefaultResetsPerEmail.Burst + 2 {
		if err := s.RequestReset(context.Background(), "flood@example.com", fmt.Sprintf("192.0.2.%d", i+1)); err != nil {
			t.Errorf("request %d = %v, want nil", i+1, err)
		}
	}
	s.Wait()
	if n := len(srv.Received()); n != account.DefaultResetsPerEmail.Burst {
		t.Errorf("reset emails sent = %d, want %d", n, account.DefaultResetsPerEmail.Burst)
	}
}

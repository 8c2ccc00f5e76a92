package account_test

import (
	"context"
	"strings"
	"testing"

	"aias/internal/account"
	"aias/internal/testutil/smtptest"
)

func TestSMTPDeliversAPlainTextMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	err := mailer(t, srv).Send(context.Background(), account.Message{
		To: "someone@example.com", Subject: "Réinitialiser", Body: "line one\n.line starting with a dot\nhttps://x/reset?token=abc\n"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	m := got[0]
	// the server's DATA reader has undone the dot-stuffing and the CRLFs
	for _, want := range []string{"From: aias@example.com\n", "To: someone@example.com\n",
		"Subject: =?utf-8?q?R=C3=A9initialiser?=\n", "Content-Type: text/plain; charset=utf-8\n",
		"\n\nline one\n.line starting with a dot\nhttps://x/reset?token=abc\n"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
	if m.From != "aias@example.com" || m.To != "someone@example.com" {
		t.Errorf("envelope = %s → %s, want aias@example.com → someone@example.com", m.From, m.To)
	}
}

func TestSMTPRefusesHeaderInjection(t *testing.T) {
	t.Parallel()
	srv := smtptest.New(t)
	for _, m := range []account.Message{
		{To: "a@example.com\r\nBcc: victim@example.com", Subject: "x", Body: "x"},
		{To: "a@example.com", Subject: "x\r\nBcc: victim@example.com", Body: "x"},
		{To: "not an address", Subject: "x", Body: "x"},
	} {
		if err := mailer(t, srv).Send(context.Background(), m); err == nil {
			t.Errorf("Send(%q, %q) = nil, want refused", m.To, m.Subject)
		}
	}
	if got := srv.Received(); len(got) != 0 {
		t.Errorf("server received %d messages, want none", len(got))
	}
}

func TestNewSMTPNamesEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := account.NewSMTP(account.SMTPSettings{Port: 0, From: "nobody"})
	for _, want := range []string{"host is required", "port must be", "from must be"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewSMTP(empty) = %v, want it to say %q", err, want)
		}
	}
}

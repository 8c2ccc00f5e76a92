package account

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Mailer sends one email. The accounts domain uses it for invitation and
// password reset links when the operator configured one.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Message is a plain-text email.
type Message struct {
	To      string
	Subject string
	Body    string
}

// SMTPSettings are an SMTP relay's: Host and Port (465 speaks TLS from the
// start; any other port upgrades with STARTTLS when the server offers it),
// the From address, and Username and Password when the relay wants them
// (sent only over TLS, or to localhost).
type SMTPSettings struct {
	Host     string
	Port     int
	From     string
	Username string
	Password string
	Timeout  time.Duration // the whole exchange; default 10 s
}

// SMTP sends through an SMTP relay with net/smtp.
type SMTP struct {
	s SMTPSettings
}

// NewSMTP checks s and returns a Mailer for it.
func NewSMTP(s SMTPSettings) (*SMTP, error) {
	var problems []error
	if s.Host == "" {
		problems = append(problems, errors.New("SMTP host is required"))
	}
	if s.Port < 1 || s.Port > 65535 {
		problems = append(problems, fmt.Errorf("SMTP port must be 1 to 65535, got %d", s.Port))
	}
	if emailProblem(s.From) != nil {
		problems = append(problems, fmt.Errorf("SMTP from must be a plain email address, got %q", s.From))
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	return &SMTP{s: s}, errors.Join(problems...)
}

// Send delivers m, bounded by the settings' Timeout and by ctx.
func (m *SMTP) Send(ctx context.Context, msg Message) error {
	if strings.ContainsAny(msg.To+msg.Subject, "\r\n") || emailProblem(msg.To) != nil {
		return fmt.Errorf("send mail: recipient or subject is not a single header line")
	}
	ctx, cancel := context.WithTimeout(ctx, m.s.Timeout)
	defer cancel()
	conn, err := m.dial(ctx)
	if err != nil {
		return fmt.Errorf("send mail: connect to %s: %w", m.s.Host, err)
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if err := m.exchange(conn, msg); err != nil {
		return fmt.Errorf("send mail to %s: %w", msg.To, err)
	}
	return nil
}

func (m *SMTP) dial(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(m.s.Host, strconv.Itoa(m.s.Port))
	if m.s.Port == 465 {
		d := tls.Dialer{Config: &tls.Config{ServerName: m.s.Host, MinVersion: tls.VersionTLS12}}
		return d.DialContext(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (m *SMTP) exchange(conn net.Conn, msg Message) error {
	c, err := smtp.NewClient(conn, m.s.Host)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: m.s.Host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if m.s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.s.Username, m.s.Password, m.s.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(m.s.From); err != nil {
		return err
	}
	if err := c.Rcpt(msg.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(compose(m.s.From, msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose renders the message with CRLF line ends; the client's DATA
// writer escapes lines that start with a dot.
func compose(from string, msg Message) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", from, msg.To, mime.QEncoding.Encode("utf-8", msg.Subject),
		time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(msg.Body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

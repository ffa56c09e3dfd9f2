package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// SMTP TLS modes.
const (
	// TLSStartTLS upgrades with STARTTLS and refuses a server without it.
	TLSStartTLS = "starttls"
	// TLSImplicit connects with TLS from the first byte (port 465).
	TLSImplicit = "tls"
	// TLSOpportunistic uses STARTTLS when offered and plain text otherwise;
	// only for a relay on the same host or a closed network.
	TLSOpportunistic = "opportunistic"
)

// SMTP sends e-mail through one relay.
type SMTP struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
	TLS      string // one of the TLS* modes; empty means TLSStartTLS
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	// Hostname is what irdesk calls itself in EHLO and Message-IDs.
	Hostname string
	Now      func() time.Time
}

// Validate checks the settings at start, so a typo fails the start rather
// than every message.
func (s *SMTP) Validate() error {
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return fmt.Errorf("smtp address %q: want host:port", s.Addr)
	}
	if a, err := mail.ParseAddress(s.From); err != nil || a.Address == "" {
		return fmt.Errorf("smtp sender %q is not an e-mail address", s.From)
	}
	switch s.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSOpportunistic:
	default:
		return fmt.Errorf("smtp TLS mode %q: want %s, %s or %s", s.TLS, TLSStartTLS, TLSImplicit, TLSOpportunistic)
	}
	if (s.Username == "") != (s.Password == "") {
		return errors.New("smtp user and password go together")
	}
	return nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.Address)
	if err != nil {
		return Permanent(fmt.Errorf("bad recipient address: %w", err))
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return Permanent(fmt.Errorf("bad sender address: %w", err))
	}
	msg := s.compose(from, to, m)

	host, _, _ := net.SplitHostPort(s.Addr)
	tlsCfg := s.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	} else if tlsCfg.ServerName == "" {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.ServerName = host
	}
	d := net.Dialer{Timeout: 15 * time.Second}
	var conn net.Conn
	if s.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("connect to mail relay: %w", err)
	}
	// One deadline for the whole conversation: net/smtp has no contexts.
	deadline := time.Now().Add(time.Minute)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail relay greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.hostname()); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if s.TLS != TLSImplicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		} else if s.TLS != TLSOpportunistic {
			return Permanent(errors.New("the mail relay does not offer STARTTLS (set the TLS mode to opportunistic to send in clear)"))
		}
	}
	if s.Username != "" {
		// net/smtp's PlainAuth refuses to send the password unless the
		// connection is TLS or to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return classifySMTP(fmt.Errorf("AUTH: %w", err))
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return classifySMTP(fmt.Errorf("MAIL FROM: %w", err))
	}
	if err := c.Rcpt(to.Address); err != nil {
		return classifySMTP(fmt.Errorf("RCPT TO: %w", err))
	}
	w, err := c.Data()
	if err != nil {
		return classifySMTP(fmt.Errorf("DATA: %w", err))
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return classifySMTP(fmt.Errorf("end of message: %w", err))
	}
	return c.Quit()
}

// classifySMTP makes 5xx replies permanent; 4xx and network errors are
// retried.
func classifySMTP(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return Permanent(err)
	}
	return err
}

func (s *SMTP) hostname() string {
	if s.Hostname != "" {
		return s.Hostname
	}
	return "irdesk.localhost"
}

// compose builds a plain-text UTF-8 message. Headers carrying text are
// RFC 2047-encoded (Japanese subjects), the body is base64 so no relay
// mangles it, and the Message-ID comes from the idempotency key so a
// retried message is recognisably the same one.
func (s *SMTP) compose(from, to *mail.Address, m Message) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	hdr("To", to.String())
	hdr("Subject", mime.BEncoding.Encode("utf-8", headerSafe(m.Subject)))
	hdr("Date", now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+headerSafe(m.IdempotencyKey)+"@"+s.hostname()+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "base64")
	hdr("Auto-Submitted", "auto-generated")
	if m.IncidentKey != "" {
		hdr("X-Irdesk-Incident", headerSafe(m.IncidentKey))
	}
	b.WriteString("\r\n")
	text := m.Body
	if m.Link != "" {
		text += "\n\n" + m.Link
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	enc := base64.StdEncoding.EncodeToString([]byte(text))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// headerSafe drops line breaks, which would let a title inject headers.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

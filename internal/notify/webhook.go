package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HTTPClient is the client the webhook senders use: a timeout, and no
// redirects, so a receiver cannot bounce a signed message elsewhere.
func HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// GuardedClient is HTTPClient for notification webhooks, whose URLs leads
// set through the API. Every connection is checked against dest at the
// moment it is dialled, on the address actually dialled, so a name that
// resolves differently between a check and the connection (DNS
// rebinding), or to several addresses, cannot slip past. It uses no proxy
// from the environment (HTTP_PROXY, HTTPS_PROXY): through a proxy only the
// proxy's own address could be checked, and the proxy would reach the
// internal service on the server's behalf.
func GuardedClient(dest *Destinations) *http.Client {
	c := HTTPClient()
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	c.Transport = &http.Transport{
		Proxy:                 nil,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if dest.HostAllowed(host) {
				return dialer.DialContext(ctx, network, addr)
			}
			d := *dialer
			d.Control = func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					// Fail closed: an address that cannot be read cannot be checked.
					return &RefusedError{Host: host, Reason: "unreadable"}
				}
				return dest.Check(host, ap.Addr())
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	return c
}

// post sends body and classifies the answer: 2xx is success; 408, 429 and
// 5xx are worth retrying; any other status is permanent.
func post(ctx context.Context, c *http.Client, addr string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("bad webhook URL: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "irdesk-notify/1")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL is not in the error: Slack and Teams put their secret in it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// A refused destination stays refused until the operator changes
		// the allow list: retrying would only delay the failure report.
		var refused *RefusedError
		if errors.As(err, &refused) {
			return Permanent(refused)
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("receiver answered %s", resp.Status)
	default:
		return Permanent(fmt.Errorf("receiver answered %s", resp.Status))
	}
}

func idempotencyHeader(m Message) http.Header {
	return http.Header{"Idempotency-Key": {m.IdempotencyKey}}
}

// Slack posts to a Slack incoming webhook.
type Slack struct{ Client *http.Client }

// Send implements Sender.
func (s Slack) Send(ctx context.Context, m Message) error {
	text := "*" + slackEscape(m.Subject) + "*\n" + slackEscape(m.Body)
	if m.Link != "" {
		text += "\n<" + m.Link + ">"
	}
	body, _ := json.Marshal(map[string]any{"text": text})
	return post(ctx, s.Client, m.Address, body, idempotencyHeader(m))
}

// slackEscape escapes the three characters Slack's mrkdwn treats as
// control characters, so an incident title cannot ping @channel or forge
// a link.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Teams posts an Adaptive Card to a Microsoft Teams workflow webhook
// ("When a Teams webhook request is received"), the successor of the
// retired Office 365 connectors.
type Teams struct{ Client *http.Client }

// Send implements Sender.
func (t Teams) Send(ctx context.Context, m Message) error {
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "text": teamsEscape(m.Subject), "weight": "Bolder", "size": "Medium", "wrap": true},
			map[string]any{"type": "TextBlock", "text": teamsEscape(m.Body), "wrap": true},
		},
	}
	if m.Link != "" {
		label := "Open in irdesk"
		if m.Language == "ja" {
			label = "irdeskで開く"
		}
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": label, "url": m.Link}}
	}
	body, _ := json.Marshal(map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	})
	return post(ctx, t.Client, m.Address, body, idempotencyHeader(m))
}

// teamsEscape breaks Markdown link syntax, "[text](url)", which Adaptive
// Card text blocks render, so an incident title cannot become a forged
// link; a zero-width space keeps the text as it reads.
func teamsEscape(s string) string {
	return strings.ReplaceAll(s, "](", "]\u200b(")
}

// Signature headers of the generic webhook.
const (
	HeaderTimestamp = "X-Irdesk-Timestamp"
	HeaderSignature = "X-Irdesk-Signature"
)

// Webhook posts the message as JSON, signed with HMAC-SHA256 over
// "timestamp.body" so a receiver can check it came from this desk and is
// fresh (see VerifySignature).
type Webhook struct {
	Client *http.Client
	Secret []byte
	Now    func() time.Time
}

// WebhookPayload is the JSON body of a generic webhook.
type WebhookPayload struct {
	ID             int64  `json:"id"`
	IdempotencyKey string `json:"idempotency_key"`
	Incident       string `json:"incident,omitempty"`
	Severity       string `json:"severity,omitempty"`
	Rule           string `json:"rule,omitempty"`
	Recipient      string `json:"recipient"`
	Language       string `json:"language"`
	Subject        string `json:"subject"`
	Body           string `json:"body"`
	Link           string `json:"link,omitempty"`
	Attempt        int    `json:"attempt"`
}

// Send implements Sender.
func (w Webhook) Send(ctx context.Context, m Message) error {
	if len(w.Secret) == 0 {
		return Permanent(errors.New("no webhook signing secret is configured (--webhook-secret)"))
	}
	body, _ := json.Marshal(WebhookPayload{ID: m.ID, IdempotencyKey: m.IdempotencyKey, Incident: m.IncidentKey,
		Severity: m.Severity, Rule: m.RuleID, Recipient: m.Recipient, Language: m.Language, Subject: m.Subject,
		Body: m.Body, Link: m.Link, Attempt: m.Attempt})
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	h := idempotencyHeader(m)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(w.Secret, ts, body))
	return post(ctx, w.Client, m.Address, body, h)
}

// Sign returns "v1=" and the hex HMAC-SHA256 of timestamp "." body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a received webhook: the signature must match
// and the timestamp lie within tolerance of now, which stops replays of
// an old captured message.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp outside tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

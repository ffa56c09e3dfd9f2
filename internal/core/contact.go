package core

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ContactRoles are the hats a contact wears in the contact tree (連絡網).
// Escalation rules notify by role so they survive staff changes.
var ContactRoles = []string{"lead", "technical", "legal", "pr", "hr", "management", "executive", "it_ops", "vendor"}

// ContactKinds: a person inside, a party outside, or a group address
// (a team's Slack channel, a shared mailbox).
var ContactKinds = []string{"internal", "external", "group"}

// ContactParties are the outside parties a CSIRT keeps numbers for.
var ContactParties = []string{"vendor", "cloud_support", "jpcert", "police", "ppc", "isac", "insurer", "lawyer", "customer", "other"}

// ChannelTypes are the ways to reach a contact. phone is for people to
// call; it is never used automatically.
var ChannelTypes = []string{"email", "slack", "teams", "webhook", "phone"}

// Channel is one way to reach someone.
type Channel struct {
	Type    string `json:"type" yaml:"type"`
	Address string `json:"address" yaml:"address"`
	Label   string `json:"label,omitempty" yaml:"label"`
}

// Automatic reports whether messages can be sent over the channel.
func (c Channel) Automatic() bool { return c.Type != "phone" }

// Validate checks the address for its type and trims it. Errors name the
// field within the channel ("address").
func (c *Channel) Validate() error {
	c.Type = strings.ToLower(strings.TrimSpace(c.Type))
	c.Address = strings.TrimSpace(c.Address)
	if len(c.Label) > 200 {
		return Invalid("label", "at most 200 bytes")
	}
	if len(c.Address) > 2000 {
		return Invalid("address", "at most 2000 bytes")
	}
	switch c.Type {
	case "email":
		a, err := mail.ParseAddress(c.Address)
		if err != nil || a.Name != "" || a.Address != c.Address {
			return Invalid("address", "not a plain e-mail address (name@example.com)")
		}
	case "slack", "teams", "webhook":
		u, err := url.Parse(c.Address)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Invalid("address", "must be an http(s) URL")
		}
		if u.User != nil {
			return Invalid("address", "must not carry credentials in the URL")
		}
	case "phone":
		if c.Address == "" || len(c.Address) > 40 || strings.ContainsAny(c.Address, "\r\n") {
			return Invalid("address", "a phone number of at most 40 characters")
		}
	case "":
		return Invalid("type", "required (one of %s)", strings.Join(ChannelTypes, ", "))
	default:
		return Invalid("type", "unknown channel type %q (one of %s)", c.Type, strings.Join(ChannelTypes, ", "))
	}
	return nil
}

// Masked is the channel as shown to people who may not send to it: the
// secret part of a webhook URL (Slack and Teams put the credential in the
// path) is hidden.
func (c Channel) Masked() Channel {
	switch c.Type {
	case "slack", "teams", "webhook":
		if u, err := url.Parse(c.Address); err == nil {
			c.Address = u.Scheme + "://" + u.Host + "/…"
		}
	}
	return c
}

// Contact is an entry of the contact tree.
type Contact struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	Party        string    `json:"party,omitempty"`
	Organisation string    `json:"organisation,omitempty"`
	Roles        []string  `json:"roles"`
	User         string    `json:"user,omitempty"`
	UserID       int64     `json:"-"`
	Language     string    `json:"language"`
	OnCallOrder  *int      `json:"on_call_order,omitempty"`
	Channels     []Channel `json:"channels"`
	Notes        string    `json:"notes,omitempty"`
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Version      int64     `json:"version"`
}

// Validate checks and normalises a contact (the linked user is checked by
// the caller, who can look it up).
func (c *Contact) Validate() error {
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.Name == "":
		return Invalid("name", "required")
	case len(c.Name) > 200:
		return Invalid("name", "at most 200 bytes")
	}
	if c.Kind == "" {
		c.Kind = "internal"
	}
	if !slices.Contains(ContactKinds, c.Kind) {
		return Invalid("kind", "unknown kind %q (one of %s)", c.Kind, strings.Join(ContactKinds, ", "))
	}
	if c.Party != "" && !slices.Contains(ContactParties, c.Party) {
		return Invalid("party", "unknown party %q (one of %s)", c.Party, strings.Join(ContactParties, ", "))
	}
	if len(c.Organisation) > 200 {
		return Invalid("organisation", "at most 200 bytes")
	}
	if len(c.Notes) > 4000 {
		return Invalid("notes", "at most 4000 bytes")
	}
	if c.Roles == nil {
		c.Roles = []string{}
	}
	for i, r := range c.Roles {
		if !slices.Contains(ContactRoles, r) {
			return Invalid(fmt.Sprintf("roles[%d]", i), "unknown role %q (one of %s)", r, strings.Join(ContactRoles, ", "))
		}
	}
	slices.Sort(c.Roles)
	c.Roles = slices.Compact(c.Roles)
	switch c.Language {
	case "":
		c.Language = "ja"
	case "ja", "en":
	default:
		return Invalid("language", "ja or en")
	}
	if c.OnCallOrder != nil && (*c.OnCallOrder < 1 || *c.OnCallOrder > 1000) {
		return Invalid("on_call_order", "between 1 and 1000, or absent when not on call")
	}
	if c.Channels == nil {
		c.Channels = []Channel{}
	}
	if len(c.Channels) > 20 {
		return Invalid("channels", "at most 20")
	}
	for i := range c.Channels {
		if err := c.Channels[i].Validate(); err != nil {
			if fe, ok := err.(*FieldError); ok {
				return Invalid(fmt.Sprintf("channels[%d].%s", i, fe.Field), "%s", fe.Message)
			}
			return err
		}
	}
	return nil
}

// Notification is one message in the outbox, as the API shows it.
type Notification struct {
	ID             int64      `json:"id"`
	IdempotencyKey string     `json:"idempotency_key"`
	IncidentID     int64      `json:"-"`
	IncidentKey    string     `json:"incident,omitempty"`
	RuleID         string     `json:"rule,omitempty"`
	Recipient      string     `json:"recipient"`
	Channel        string     `json:"channel"`
	Address        string     `json:"address"`
	Language       string     `json:"language"`
	Subject        string     `json:"subject"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	MaxAttempts    int        `json:"max_attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Notification states.
const (
	NotifyPending   = "pending"
	NotifyDelivered = "delivered"
	NotifyFailed    = "failed"
)

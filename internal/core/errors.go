// Package core holds irdesk's domain types and the rules that govern them:
// what an incident is, which phase moves are allowed, how priority follows
// from impact and urgency. It does no I/O.
package core

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every layer wraps them with %w; the web layer maps them to
// HTTP status codes with errors.Is, never by matching text.
var (
	ErrNotFound  = errors.New("not found")
	ErrInvalid   = errors.New("invalid input")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated means no valid credentials were presented at all,
	// which a client must be able to tell apart from "you may not".
	ErrUnauthenticated = errors.New("unauthenticated")
)

// FieldError is an ErrInvalid that names the field at fault, so an API
// client (or a form) can point at it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Unwrap makes errors.Is(err, ErrInvalid) true for every FieldError.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Invalid builds a FieldError.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ConflictError is an ErrConflict with a reason worth showing to the client.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Conflict builds a ConflictError.
func Conflict(format string, args ...any) error {
	return &ConflictError{Message: fmt.Sprintf(format, args...)}
}

// Package errs defines the errors custos services return and the HTTP status
// each maps to. Services speak in kinds (not found, invalid, forbidden, ...);
// the API layer turns them into the documented JSON error body.
package errs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kind classifies an error by what the caller must do about it.
type Kind int

const (
	Internal         Kind = iota // a bug or an outage; the caller cannot fix it
	BadRequest                   // the request is malformed (not parseable, wrong id format)
	Unauthorized                 // no valid credentials
	Forbidden                    // valid credentials, missing permission
	NotFound                     // the addressed resource does not exist
	Conflict                     // the resource's state forbids the operation
	Invalid                      // the payload parses but does not validate (422)
	TooLarge                     // the request body exceeds the limit
	Unavailable                  // a dependency (database, remote platform) cannot be reached
	TooMany                      // the caller must slow down; RetryAfter says for how long
	MethodNotAllowed             // the path exists but not with this method
)

// Validation codes used in FieldError.Code.
const (
	CodeRequired = "required" // a required field is missing or empty
	CodeInvalid  = "invalid"  // the value is malformed
	CodeEnum     = "enum"     // the value is not one of the allowed values
	CodeUnique   = "unique"   // the value duplicates an existing one
	CodeNotFound = "notFound" // the value references something that does not exist
	CodeType     = "type"     // the value has the wrong JSON type
)

// FieldError says what is wrong with one field of a payload. Field is a
// dotted path into the payload (e.g. "actions.rules[0].config.regex").
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a classified error with a message meant for the API caller.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError // for Invalid
	Err     error        // the underlying cause, logged but not shown
	// RetryAfter is how long a TooMany caller should wait (the Retry-After header).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status code for the error's kind.
func (e *Error) Status() int {
	switch e.Kind {
	case BadRequest:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Invalid:
		return http.StatusUnprocessableEntity
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case TooMany:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

func newf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

func BadRequestf(format string, args ...any) *Error   { return newf(BadRequest, format, args...) }
func Unauthorizedf(format string, args ...any) *Error { return newf(Unauthorized, format, args...) }
func Forbiddenf(format string, args ...any) *Error    { return newf(Forbidden, format, args...) }
func NotFoundf(format string, args ...any) *Error     { return newf(NotFound, format, args...) }
func Conflictf(format string, args ...any) *Error     { return newf(Conflict, format, args...) }
func TooLargef(format string, args ...any) *Error     { return newf(TooLarge, format, args...) }

// Unavailablef reports that a dependency could not be reached; cause is kept
// for the logs.
func Unavailablef(cause error, format string, args ...any) *Error {
	e := newf(Unavailable, format, args...)
	e.Err = cause
	return e
}

// TooManyf asks the caller to wait retryAfter before trying again (429).
func TooManyf(retryAfter time.Duration, format string, args ...any) *Error {
	e := newf(TooMany, format, args...)
	e.RetryAfter = retryAfter
	return e
}

// Field returns a 422 error about a single field.
func Field(field, code, format string, args ...any) *Error {
	return Fields(FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Fields returns a 422 error listing every invalid field; its message joins them.
func Fields(fields ...FieldError) *Error {
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = f.Message
	}
	return &Error{Kind: Invalid, Message: strings.Join(msgs, "; "), Fields: fields}
}

// List collects field errors during validation; Err returns nil when empty.
type List []FieldError

// Add records a problem with field.
func (l *List) Add(field, code, format string, args ...any) {
	*l = append(*l, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Require records a CodeRequired problem when value is empty.
func (l *List) Require(field, value string) {
	if strings.TrimSpace(value) == "" {
		l.Add(field, CodeRequired, "%s is required", field)
	}
}

// Err returns the collected problems as one 422 error, or nil.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return Fields(l...)
}

// As returns err as an *Error; unclassified errors become Internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "internal error", Err: err}
}

// Is reports whether err is an *Error of kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

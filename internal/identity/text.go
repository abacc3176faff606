package identity

import (
	"encoding/json"
	"strings"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// PostgreSQL cannot store a NUL character in text or JSON (and SQLite would
// keep what PostgreSQL refuses), so values holding one are refused before
// anything is written.

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// noNUL adds a problem for field when v holds a NUL character.
func noNUL(problems *errs.List, field, v string) {
	if hasNUL(v) {
		problems.Add(field, errs.CodeInvalid, "%s must not contain NUL characters", field)
	}
}

// noNULIn is noNUL for an optional value.
func noNULIn(problems *errs.List, field string, v *string) {
	if v != nil {
		noNUL(problems, field, *v)
	}
}

// noNULInJSON adds a problem for field when a string (or key) of the
// document holds a NUL character.
func noNULInJSON(problems *errs.List, field string, j store.JSON) {
	var v any
	if j == nil || json.Unmarshal(j, &v) != nil {
		return
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			return hasNUL(x)
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for k, e := range x {
				if hasNUL(k) || walk(e) {
					return true
				}
			}
		}
		return false
	}
	if walk(v) {
		problems.Add(field, errs.CodeInvalid, "%s must not contain NUL characters", field)
	}
}

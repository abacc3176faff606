// Package sdd is the classification core of sensitive data discovery:
// identifiers (the API calls them classifiers) that recognise a kind of
// data from a column's name or sampled values, frameworks (templates) that
// group identifiers with per-framework overrides, the identifiers custos
// ships (BuiltIns), and the scoring that turns a column and its sample into
// the Discovered.* tags to apply.
//
// The package is pure: it reads no database and keeps no state. The SDD
// service samples columns through internal/connector, scores them with a
// Scorer compiled from the data source's framework, and applies the tags.
package sdd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/custosdata/custos/internal/errs"
)

// Type is the kind of an identifier.
type Type string

// Identifier types, spelled as the API spells them.
const (
	TypeRegex           Type = "regex"           // a regular expression matched against column values
	TypeDictionary      Type = "dictionary"      // a list of words matched against column values
	TypeColumnNameRegex Type = "columnNameRegex" // a regular expression matched against the column name
	TypeBuiltIn         Type = "builtIn"         // one of the identifiers custos ships (BuiltIns)
)

// Types lists every identifier type.
var Types = []Type{TypeRegex, TypeDictionary, TypeColumnNameRegex, TypeBuiltIn}

// DefaultMinConfidence is the share of sampled values an identifier must
// match when its config sets no minConfidence.
const DefaultMinConfidence = 0.9

// TagPrefix begins every tag an identifier applies.
const TagPrefix = "Discovered."

// Identifier recognises one kind of data. Its JSON form is the payload of
// POST /sdd/classifier (the service adds id, createdBy, createdAt,
// updatedAt to responses).
type Identifier struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	Type        Type   `json:"type"`
	Config      Config `json:"config"`
}

// Config is an identifier's configuration. Which matching fields apply
// depends on the type: Regex for regex, Values and CaseSensitive for
// dictionary, ColumnNameRegex for columnNameRegex; built-in identifiers
// carry only Tags and ConditionalTags.
type Config struct {
	// Tags are applied to a column the identifier matches.
	Tags []string `json:"tags"`
	// Regex is matched (unanchored) against each sampled value,
	// case-insensitively unless CaseSensitive.
	Regex string `json:"regex,omitempty"`
	// ColumnNameRegex is matched (unanchored, case-insensitively) against
	// the column name.
	ColumnNameRegex string `json:"columnNameRegex,omitempty"`
	// Values are the dictionary's words; a sampled value matches when it
	// equals one of them, ignoring surrounding blanks.
	Values []string `json:"values,omitempty"`
	// CaseSensitive makes Regex and Values case-sensitive.
	CaseSensitive bool `json:"caseSensitive,omitempty"`
	// MinConfidence is the share (0 to 1) of non-null sampled values that
	// must match; DefaultMinConfidence when nil.
	MinConfidence *float64 `json:"minConfidence,omitempty"`
	// ConditionalTags are applied in addition to Tags when the identifier
	// matches and the column name matches the condition, keyed by tag: for
	// example DATE adds "Discovered.Entity.Date of Birth" to date columns
	// whose name says birth.
	ConditionalTags map[string]TagCondition `json:"conditionalTags,omitzero"`
}

// TagCondition is the condition under which a conditional tag applies.
type TagCondition struct {
	// ColumnNameRegex is matched (unanchored, case-insensitively) against
	// the column name.
	ColumnNameRegex string `json:"columnNameRegex"`
}

// Limits on identifier definitions, so that one identifier cannot make a
// run slow or large.
const (
	maxRegexLength  = 4096
	maxValues       = 10000
	maxValueLength  = 1024
	maxTags         = 100
	maxNameLength   = 255
	maxStringLength = 4096
)

var namePattern = regexp.MustCompile(`^[A-Z0-9_]+$`)

// ParseIdentifier decodes a JSON identifier payload and validates it.
func ParseIdentifier(data []byte) (Identifier, error) {
	var id Identifier
	if err := decodeJSON(data, &id); err != nil {
		return Identifier{}, err
	}
	return id, id.Validate()
}

// Validate checks the identifier as a create or update payload: every
// problem is reported at once, as a 422 naming its field ("config.regex",
// "config.tags[1]", ...). A builtIn identifier must be one of BuiltIns.
func (id Identifier) Validate() error {
	var l errs.List
	validateName(&l, "name", id.Name)
	requireText(&l, "displayName", id.DisplayName)
	requireText(&l, "description", id.Description)
	c := id.Config
	validateTags(&l, "config.tags", c.Tags, true)
	if c.MinConfidence != nil {
		validateConfidence(&l, "config.minConfidence", *c.MinConfidence)
	}
	for _, tag := range sortedKeys(c.ConditionalTags) {
		at := fmt.Sprintf("config.conditionalTags[%q]", tag)
		validateTag(&l, at, tag)
		if strings.TrimSpace(c.ConditionalTags[tag].ColumnNameRegex) == "" {
			l.Add(at+".columnNameRegex", errs.CodeRequired, "%s.columnNameRegex is required", at)
		} else {
			validateRegex(&l, at+".columnNameRegex", c.ConditionalTags[tag].ColumnNameRegex)
		}
	}
	unused := func(field string, set bool) {
		if set {
			l.Add("config."+field, errs.CodeInvalid, "config.%s does not apply to a %s identifier", field, id.Type)
		}
	}
	switch id.Type {
	case TypeRegex:
		if requireText(&l, "config.regex", c.Regex) {
			validateRegex(&l, "config.regex", c.Regex)
		}
		unused("columnNameRegex", c.ColumnNameRegex != "")
		unused("values", len(c.Values) > 0)
	case TypeColumnNameRegex:
		if requireText(&l, "config.columnNameRegex", c.ColumnNameRegex) {
			validateRegex(&l, "config.columnNameRegex", c.ColumnNameRegex)
		}
		unused("regex", c.Regex != "")
		unused("values", len(c.Values) > 0)
		unused("caseSensitive", c.CaseSensitive)
	case TypeDictionary:
		validateValues(&l, c.Values)
		unused("regex", c.Regex != "")
		unused("columnNameRegex", c.ColumnNameRegex != "")
	case TypeBuiltIn:
		if _, ok := BuiltIn(id.Name); !ok && id.Name != "" {
			l.Add("name", errs.CodeEnum, "%q is not a built-in identifier; builtIn identifiers are the ones custos provides", id.Name)
		}
		unused("regex", c.Regex != "")
		unused("columnNameRegex", c.ColumnNameRegex != "")
		unused("values", len(c.Values) > 0)
	case "":
		l.Add("type", errs.CodeRequired, "type is required; one of %s", joinTypes())
	default:
		l.Add("type", errs.CodeEnum, "type %q is not one of %s", id.Type, joinTypes())
	}
	return l.Err()
}

func joinTypes() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func validateName(l *errs.List, field, name string) {
	switch {
	case name == "":
		l.Add(field, errs.CodeRequired, "%s is required", field)
	case len(name) > maxNameLength:
		l.Add(field, errs.CodeInvalid, "%s is longer than %d characters", field, maxNameLength)
	case !namePattern.MatchString(name):
		l.Add(field, errs.CodeInvalid, "%s %q may contain only uppercase letters, digits and underscores", field, name)
	}
}

// requireText reports a blank value; it returns whether the value is present.
func requireText(l *errs.List, field, value string) bool {
	if strings.TrimSpace(value) == "" {
		l.Add(field, errs.CodeRequired, "%s is required", field)
		return false
	}
	if len(value) > maxStringLength {
		l.Add(field, errs.CodeInvalid, "%s is longer than %d characters", field, maxStringLength)
		return false
	}
	return !hasNUL(l, field, value)
}

// hasNUL reports text with a NUL character, which no store keeps.
func hasNUL(l *errs.List, field, value string) bool {
	if strings.IndexByte(value, 0) >= 0 {
		l.Add(field, errs.CodeInvalid, "%s must not contain NUL characters (write \\x00 in a regular expression)", field)
		return true
	}
	return false
}

func validateTags(l *errs.List, field string, tags []string, required bool) {
	if len(tags) == 0 {
		if required {
			l.Add(field, errs.CodeRequired, "%s must list at least one tag beginning with %q", field, TagPrefix)
		}
		return
	}
	if len(tags) > maxTags {
		l.Add(field, errs.CodeInvalid, "%s lists more than %d tags", field, maxTags)
		return
	}
	for i, tag := range tags {
		validateTag(l, fmt.Sprintf("%s[%d]", field, i), tag)
	}
}

// validateTag checks that a tag is a Discovered.* path without empty parts.
func validateTag(l *errs.List, field, tag string) {
	if !strings.HasPrefix(tag, TagPrefix) || len(tag) > maxStringLength {
		l.Add(field, errs.CodeInvalid, "tag %q must begin with %q", tag, TagPrefix)
		return
	}
	for _, part := range strings.Split(tag, ".") {
		if strings.TrimSpace(part) == "" {
			l.Add(field, errs.CodeInvalid, "tag %q has an empty part", tag)
			return
		}
	}
}

func validateConfidence(l *errs.List, field string, v float64) {
	if !(v >= 0 && v <= 1) { // also rejects NaN
		l.Add(field, errs.CodeInvalid, "%s must be between 0 and 1, got %v", field, v)
	}
}

// validateRegex checks that a pattern compiles with Go's RE2 syntax (no
// backreferences or lookaround), which matches in linear time.
func validateRegex(l *errs.List, field, pattern string) {
	if len(pattern) > maxRegexLength {
		l.Add(field, errs.CodeInvalid, "%s is longer than %d characters", field, maxRegexLength)
		return
	}
	if hasNUL(l, field, pattern) {
		return
	}
	if _, err := regexp.Compile(pattern); err != nil {
		l.Add(field, errs.CodeInvalid, "%s is not a valid regular expression: %s", field, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
}

func validateValues(l *errs.List, values []string) {
	switch {
	case len(values) == 0:
		l.Add("config.values", errs.CodeRequired, "config.values must list at least one word")
		return
	case len(values) > maxValues:
		l.Add("config.values", errs.CodeInvalid, "config.values lists more than %d words", maxValues)
		return
	}
	for i, v := range values {
		switch {
		case strings.TrimSpace(v) == "":
			l.Add(fmt.Sprintf("config.values[%d]", i), errs.CodeRequired, "config.values[%d] is blank", i)
		case len(v) > maxValueLength:
			l.Add(fmt.Sprintf("config.values[%d]", i), errs.CodeInvalid, "config.values[%d] is longer than %d characters", i, maxValueLength)
		default:
			hasNUL(l, fmt.Sprintf("config.values[%d]", i), v)
		}
	}
}

// decodeJSON decodes one JSON value, reporting a value of the wrong type as
// a 422 on its field and malformed JSON as a 400.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errs.Field(te.Field, errs.CodeType, "%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return errs.BadRequestf("the payload is not valid JSON: %v", err)
	}
	if dec.More() {
		return errs.BadRequestf("the payload holds more than one JSON value")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "float64", "float32", "int", "int64":
		return "a number"
	}
	return "a " + goKind
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

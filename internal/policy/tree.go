package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/errs"
	"sigs.k8s.io/yaml"
)

// Payloads are decoded into a generic tree first and then read field by
// field, so that every problem is reported at once with its exact path, and
// so that the documented alternate shapes (object or array) can be accepted.

// MaxPayload bounds the size of one policy payload.
const MaxPayload = 1 << 20

func decodeTree(data []byte, isYAML bool) (any, error) {
	if len(data) > MaxPayload {
		return nil, errs.TooLargef("policy payload larger than %d bytes", MaxPayload)
	}
	if isYAML {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, errs.BadRequestf("payload is not valid YAML: %v", err)
		}
		data = j
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errs.BadRequestf("payload is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.BadRequestf("payload has data after its end")
	}
	return v, nil
}

// decodeAny reads JSON, or YAML when the payload does not start like JSON or
// does not parse as JSON (YAML flow style starts like JSON too).
func decodeAny(data []byte) (tree any, isYAML bool, err error) {
	if !looksLikeJSON(data) {
		tree, err = decodeTree(data, true)
		return tree, true, err
	}
	tree, err = decodeTree(data, false)
	if !errs.Is(err, errs.BadRequest) {
		return tree, false, err
	}
	if ytree, yerr := decodeTree(data, true); yerr == nil {
		return ytree, true, nil
	}
	return nil, false, err // the JSON error says more about a JSON-looking payload
}

// decodeObject is decodeAny for payloads that must be one object.
func decodeObject(data []byte) (tree any, isYAML bool, err error) {
	tree, isYAML, err = decodeAny(data)
	if err == nil {
		if _, ok := tree.(map[string]any); !ok {
			err = errs.BadRequestf("the payload must be an object, not %s", jsonKind(tree))
		}
	}
	return tree, isYAML, err
}

// merge adds the semantic problems found by validation to the shape problems
// found while reading, skipping fields that already failed to read, and
// returns them all as one error (nil when there are none).
func (r *reader) merge(l errs.List) error {
	for _, e := range l {
		if !r.failedAt(e.Field) {
			r.errs = append(r.errs, e)
		}
	}
	return r.errs.Err()
}

// looksLikeJSON reports whether data starts like a JSON object or array.
func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

type reader struct {
	errs errs.List
	yaml bool // YAML input: scalars where strings are expected are read as text
}

type obj struct {
	m    map[string]any
	path string
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func (r *reader) typeErr(path, want string, v any) {
	r.errs.Add(path, errs.CodeType, "%s must be %s, not %s", path, want, jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// object reads v as an object; ok is false (with an error) otherwise.
func (r *reader) object(v any, path string) (obj, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		r.typeErr(path, "an object", v)
		return obj{path: path}, false
	}
	return obj{m, path}, true
}

func (o obj) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

// present reports whether key is there with a non-null value.
func (o obj) present(key string) bool { return o.m[key] != nil }

func (o obj) at(key string) string { return join(o.path, key) }

// str reads an optional string.
func (r *reader) str(o obj, key string) string {
	v, ok := o.m[key]
	if !ok || v == nil {
		return ""
	}
	return r.text(v, o.at(key))
}

func (r *reader) text(v any, path string) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		if r.yaml {
			return v.String()
		}
	case bool:
		if r.yaml {
			return strconv.FormatBool(v)
		}
	}
	r.typeErr(path, "a string", v)
	return ""
}

// required reads a string that must be present and not blank.
func (r *reader) required(o obj, key string) string {
	s := r.str(o, key)
	if strings.TrimSpace(s) == "" && !r.failedAt(o.at(key)) {
		r.errs.Add(o.at(key), errs.CodeRequired, "%s is required", o.at(key))
	}
	return s
}

func (r *reader) failedAt(path string) bool {
	for _, e := range r.errs {
		if e.Field == path {
			return true
		}
	}
	return false
}

func (r *reader) boolean(o obj, key string) bool {
	b := r.optBool(o, key)
	return b != nil && *b
}

func (r *reader) optBool(o obj, key string) *bool {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil
	}
	switch v := v.(type) {
	case bool:
		return &v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return &b
		}
	}
	r.typeErr(o.at(key), "a boolean", v)
	return nil
}

func (r *reader) number(o obj, key string) *float64 {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil
	}
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		r.typeErr(o.at(key), "a number", v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		r.errs.Add(o.at(key), errs.CodeType, "%s must be a number, not %q", o.at(key), s)
		return nil
	}
	return &f
}

func (r *reader) integer(o obj, key string) *int64 {
	f := r.number(o, key)
	if f == nil {
		return nil
	}
	if *f != math.Trunc(*f) || math.Abs(*f) > 1<<53 {
		r.errs.Add(o.at(key), errs.CodeType, "%s must be a whole number", o.at(key))
		return nil
	}
	n := int64(*f)
	return &n
}

// list reads an optional array; with single, an object is read as a
// one-element array.
func (r *reader) list(o obj, key string, single bool) []any {
	v, ok := o.m[key]
	if !ok || v == nil {
		return nil
	}
	if l, ok := v.([]any); ok {
		return l
	}
	if _, isObj := v.(map[string]any); isObj && single {
		return []any{v}
	}
	r.typeErr(o.at(key), "an array", v)
	return nil
}

// strings reads an array of strings; a lone string is accepted as one item.
// Items may also be objects with a name (e.g. groups written as {name: HR}).
func (r *reader) strings(o obj, key string) []string {
	var out []string
	items := r.list(o, key, true)
	if s, ok := o.m[key].(string); ok {
		items = []any{s}
	}
	for i, v := range items {
		p := index(o.at(key), i)
		if m, ok := v.(map[string]any); ok {
			s := r.required(obj{m, p}, "name")
			out = append(out, s)
			continue
		}
		s := r.text(v, p)
		if strings.TrimSpace(s) == "" && !r.failedAt(p) {
			r.errs.Add(p, errs.CodeRequired, "%s must not be empty", p)
		}
		out = append(out, s)
	}
	return out
}

func (r *reader) date(o obj, key string) *time.Time {
	s := r.str(o, key)
	if s == "" {
		return nil
	}
	t, err := parseDate(s)
	if err != nil {
		r.errs.Add(o.at(key), errs.CodeInvalid, "%s must be an ISO 8601 date or timestamp, not %q", o.at(key), s)
		return nil
	}
	return &t
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}

func formatDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// lowerEnum normalises an enum spelled in another case ("ANY" for "any").
func lowerEnum(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

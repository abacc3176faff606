package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
)

// Request is an HTTP request being served, with its caller.
type Request struct {
	*http.Request
	W      http.ResponseWriter
	P      *auth.Principal // nil on public routes
	server *Server
	op     *Op
}

// Path returns a path parameter, URL-decoded (user ids arrive encoded).
// The router matches the raw path only when the request's path has escapes
// that decoding would lose (an encoded slash); otherwise its parameters are
// decoded already and must not be decoded twice.
func (r *Request) Path(name string) string {
	v := chi.URLParam(r.Request, name)
	if r.URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// checkText refuses path and query parameters that are not text a store
// can hold: bytes that are not UTF-8, or NUL, which PostgreSQL rejects.
func (r *Request) checkText() error {
	bad := func(v string) bool { return !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 }
	if rc := chi.RouteContext(r.Context()); rc != nil {
		for _, name := range rc.URLParams.Keys {
			if bad(r.Path(name)) {
				return errs.BadRequestf("path parameter %s must be UTF-8 text without NUL characters", name)
			}
		}
	}
	for name, values := range r.URL.Query() {
		for _, v := range values {
			if bad(name) || bad(v) {
				return errs.BadRequestf("query parameter %q must be UTF-8 text without NUL characters", strings.ToValidUTF8(name, "?"))
			}
		}
	}
	return nil
}

// PathInt returns a numeric path parameter or a 400 naming it.
func (r *Request) PathInt(name string) (int64, error) {
	v := r.Path(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errs.BadRequestf("path parameter %s must be a number, not %q", name, v)
	}
	return n, nil
}

// PathBool returns a boolean path parameter or a 400 naming it.
func (r *Request) PathBool(name string) (bool, error) {
	v := r.Path(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errs.BadRequestf("path parameter %s must be true or false, not %q", name, v)
	}
	return b, nil
}

// RawBody reads the whole body (within the size limit).
func (r *Request) RawBody() ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errs.TooLargef("the request body exceeds the limit of %d bytes", tooBig.Limit)
		}
		return nil, errs.BadRequestf("reading the request body: %v", err)
	}
	return b, nil
}

// Decode reads a JSON or YAML body into v. Malformed bodies are a 400; values
// of the wrong type are a 422 naming the field.
func (r *Request) Decode(v any) error {
	body, err := r.RawBody()
	if err != nil {
		return err
	}
	return DecodeBody(r.Header.Get("Content-Type"), body, v)
}

// DecodeOptional is Decode that accepts an empty body, leaving v unchanged.
func (r *Request) DecodeOptional(v any) error {
	body, err := r.RawBody()
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	return DecodeBody(r.Header.Get("Content-Type"), body, v)
}

// DecodeBody parses a JSON or YAML document (by content type; YAML when the
// type is not JSON) into v.
func DecodeBody(contentType string, body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return errs.BadRequestf("the request body is empty; send a JSON or YAML document")
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	isJSON := strings.HasSuffix(mt, "json")
	if !isJSON {
		converted, err := yaml.YAMLToJSON(body)
		if err != nil {
			return errs.BadRequestf("the request body is not valid YAML or JSON: %v", err)
		}
		body = converted
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			field := typeErr.Field
			if field == "" {
				field = "body"
			}
			return errs.Field(field, errs.CodeType, "%s must be %s, not %s", field, jsonKind(typeErr.Type), typeErr.Value)
		case errors.As(err, &syntaxErr):
			return errs.BadRequestf("the request body is not valid JSON: %v (at byte %d)", err, syntaxErr.Offset)
		default:
			var fe *errs.Error
			if errors.As(err, &fe) {
				return fe
			}
			return errs.BadRequestf("the request body cannot be read: %v", err)
		}
	}
	return nil
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// Query fills the struct pointed to by v from the query string, by its
// `query:"name"` tags. Fields keep their values when a parameter is absent,
// so callers set defaults first. Malformed values are a 400 naming the
// parameter.
func (r *Request) Query(v any) error {
	return BindQuery(r.URL.Query(), v)
}

// BindQuery is Query over parsed values.
func BindQuery(values url.Values, v any) error {
	return bindQuery(values, reflect.ValueOf(v).Elem())
}

func bindQuery(values url.Values, rv reflect.Value) error {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := bindQuery(values, rv.Field(i)); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("query")
		if name == "" || name == "-" {
			continue
		}
		raw, ok := values[name]
		if !ok {
			// Accept the bracketed array spelling (name[]=a&name[]=b) too.
			raw, ok = values[name+"[]"]
		}
		if !ok || len(raw) == 0 {
			continue
		}
		if err := setQueryField(rv.Field(i), raw); err != nil {
			return errs.BadRequestf("query parameter %s: %v", name, err)
		}
	}
	return nil
}

func setQueryField(fv reflect.Value, raw []string) error {
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(fv.Type().Elem())
		if err := setQueryField(nv.Elem(), raw); err != nil {
			return err
		}
		fv.Set(nv)
		return nil
	}
	if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 {
		out := reflect.MakeSlice(fv.Type(), 0, len(raw))
		for _, item := range raw {
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := setScalar(ev, item); err != nil {
				return err
			}
			out = reflect.Append(out, ev)
		}
		fv.Set(out)
		return nil
	}
	return setScalar(fv, raw[len(raw)-1])
}

func setScalar(fv reflect.Value, s string) error {
	if fv.Type() == reflect.TypeOf(time.Time{}) {
		t, err := ParseTime(s)
		if err != nil {
			return err
		}
		fv.Set(reflect.ValueOf(t))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("must be true or false, not %q", s)
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := parseWhole(s)
		if err != nil {
			return fmt.Errorf("must be an integer, not %q", s)
		}
		fv.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("must be a number, not %q", s)
		}
		fv.SetFloat(f)
	default:
		return fmt.Errorf("unsupported parameter type %s", fv.Type())
	}
	return nil
}

// parseWhole reads an integer, also when written as a decimal with a zero
// fraction ("200.0"), as clients that keep every number as a float send
// it. A fraction that is not zero ("1.5") is refused.
func parseWhole(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || whole == "" || frac == "" || strings.Trim(frac, "0") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(whole, 10, 64)
}

// ParseTime accepts RFC 3339 timestamps, dates, and epoch milliseconds.
func ParseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("must be a timestamp (RFC 3339, YYYY-MM-DD or epoch milliseconds), not %q", s)
}

// Paging is the common size/offset pair of search endpoints.
type Paging struct {
	Size   int `query:"size" doc:"maximum number of results"`
	Offset int `query:"offset" doc:"number of results to skip"`
}

// Check bounds the page; size 0 becomes def.
func (p *Paging) Check(def, max int) error {
	if p.Size == 0 {
		p.Size = def
	}
	if p.Size < 0 || p.Size > max {
		return errs.BadRequestf("query parameter size must be between 1 and %d", max)
	}
	if p.Offset < 0 {
		return errs.BadRequestf("query parameter offset must not be negative")
	}
	return nil
}

// Page is the {count, hits} envelope of search results.
type Page[T any] struct {
	Count int `json:"count"`
	Hits  []T `json:"hits"`
}

// SortOrder validates an asc/desc parameter, reporting whether it is descending.
func SortOrder(v string, defDesc bool) (bool, error) {
	switch strings.ToLower(v) {
	case "":
		return defDesc, nil
	case "asc":
		return false, nil
	case "desc":
		return true, nil
	}
	return false, errs.BadRequestf("query parameter sortOrder must be asc or desc, not %q", v)
}

// OneOf validates an enumerated query parameter.
func OneOf(param, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errs.BadRequestf("query parameter %s must be one of %s, not %q", param, strings.Join(allowed, ", "), v)
}

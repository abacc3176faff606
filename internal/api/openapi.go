package api

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The OpenAPI 3 document is generated from the declared routes and the Go
// types of their bodies and responses, so it cannot drift from the code.

var pathParam = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

type schemaBuilder struct {
	components map[string]any
	building   map[reflect.Type]bool
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

// schema returns the JSON schema of t, registering named structs as components.
func (b *schemaBuilder) schema(t reflect.Type) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if t == rawType || t.Name() == "JSON" {
		return map[string]any{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": b.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": b.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := componentName(t)
		if name == "" {
			return b.object(t)
		}
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, done := b.components[name]; done || b.building[t] {
			return ref
		}
		b.building[t] = true
		b.components[name] = b.object(t)
		delete(b.building, t)
		return ref
	}
	return map[string]any{}
}

func componentName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return ""
	}
	name = strings.NewReplacer("[", "Of", "]", "", "*", "", ".", "_", "/", "_", ",", "And", " ", "").Replace(name)
	// Qualify with the package's last element to avoid clashes.
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg != "" && pkg != "api" {
		name = pkg + "_" + name
	}
	return name
}

func (b *schemaBuilder) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	b.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		out["required"] = required
	}
	return out
}

func (b *schemaBuilder) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.fields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s := b.schema(f.Type)
		if doc := f.Tag.Get("doc"); doc != "" {
			s = withDescription(s, doc)
		}
		props[name] = s
		if f.Tag.Get("required") == "true" {
			*required = append(*required, name)
		}
	}
}

func withDescription(s map[string]any, doc string) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"allOf": []any{s}, "description": doc}
	}
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	out["description"] = doc
	return out
}

// queryParams lists the query parameters described by a `query` tagged struct.
func (b *schemaBuilder) queryParams(t reflect.Type, out *[]any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			b.queryParams(f.Type, out)
			continue
		}
		name := f.Tag.Get("query")
		if name == "" || name == "-" {
			continue
		}
		p := map[string]any{"name": name, "in": "query", "schema": b.schema(f.Type)}
		if doc := f.Tag.Get("doc"); doc != "" {
			p["description"] = doc
		}
		if f.Type.Kind() == reflect.Slice {
			p["style"], p["explode"] = "form", true
		}
		*out = append(*out, p)
	}
}

// OpenAPI returns the OpenAPI 3.0 document of every registered route.
func (s *Server) OpenAPI() map[string]any {
	b := &schemaBuilder{components: map[string]any{}, building: map[reflect.Type]bool{}}
	b.schema(reflect.TypeOf(ErrorBody{}))
	paths := map[string]any{}
	for _, op := range s.ops {
		path := pathParam.ReplaceAllString(op.Path, "{$1}")
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			typ := "string"
			for _, n := range op.IntParams {
				if n == m[1] {
					typ = "integer"
				}
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"schema": map[string]any{"type": typ}})
		}
		if op.Query != nil {
			b.queryParams(reflect.TypeOf(op.Query), &params)
		}
		o := map[string]any{
			"summary":     op.Summary,
			"operationId": operationID(op),
			"responses":   s.responses(b, op),
		}
		if op.Tag != "" {
			o["tags"] = []string{op.Tag}
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.Body != nil {
			schema := b.schema(reflect.TypeOf(op.Body))
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schema},
				"application/yaml": map[string]any{"schema": schema},
			}}
		}
		if op.Public {
			o["security"] = []any{}
		}
		if op.Permission != "" {
			o["x-permission"] = op.Permission
		}
		item[strings.ToLower(op.Method)] = o
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "custos",
			"version":     s.opts.Version,
			"description": "The custos data security platform: Immuta-compatible V1, V2 and integrations APIs.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": b.components,
			"securitySchemes": map[string]any{
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
					"description": "An API key, raw or as 'Bearer <key>', or 'Bearer <token>' from POST /bim/apikey/authenticate."},
			},
		},
		"security": []any{map[string]any{"apiKey": []any{}}},
	}
}

func (s *Server) responses(b *schemaBuilder, op *Op) map[string]any {
	errRef := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/ErrorBody"}}}
	out := map[string]any{}
	if op.Response != nil {
		out["200"] = map[string]any{"description": "success", "content": map[string]any{
			"application/json": map[string]any{"schema": b.schema(reflect.TypeOf(op.Response))}}}
	} else {
		out["204"] = map[string]any{"description": "success, no content"}
	}
	out["400"] = map[string]any{"description": "malformed request", "content": errRef}
	if !op.Public {
		out["401"] = map[string]any{"description": "missing, invalid or expired credentials", "content": errRef}
		out["403"] = map[string]any{"description": "the caller lacks a required permission", "content": errRef}
	}
	if op.Throttled {
		out["429"] = map[string]any{"description": "too many failed attempts; wait the seconds the Retry-After header gives",
			"headers": map[string]any{"Retry-After": map[string]any{"schema": map[string]any{"type": "integer"}}},
			"content": errRef}
	}
	if op.Body != nil {
		out["413"] = map[string]any{"description": "request body too large", "content": errRef}
		out["422"] = map[string]any{"description": "validation failed; validation[] names each field", "content": errRef}
	}
	return out
}

func operationID(op *Op) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(op.Method))
	for _, part := range strings.Split(op.Path, "/") {
		part = pathParam.ReplaceAllString(part, "By$1")
		part = strings.NewReplacer("{", "", "}", "", "-", "", ".", "").Replace(part)
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func (s *Server) openAPIRoute() {
	s.Handle(Op{Method: "GET", Path: "/openapi.json", Summary: "This OpenAPI 3 document", Tag: "operations",
		Public: true}, func(r *Request) (any, error) {
		return s.OpenAPI(), nil
	})
}

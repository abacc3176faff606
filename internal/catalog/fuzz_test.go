package catalog

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/custosdata/custos/internal/errs"
)

// FuzzDocument feeds arbitrary JSON to V2 document validation and, for
// documents that validate and name a technology custos does not reach, to
// source resolution: neither may panic, invalid documents are 422s naming a
// field, and the targets of a valid document have distinct identities and
// usable names.
func FuzzDocument(f *testing.F) {
	f.Add([]byte(`{"connectionKey":"k","connection":{"handler":"Snowflake","hostname":"h","database":"D","warehouse":"W","username":"u","password":"p"},
		"sources":[{"table":"T","schema":"S","columns":[{"name":"a","dataType":"text"}],"tags":{"table":["A.B"],"columns":[{"columnName":"a","tags":["C"]}]}}]}`))
	f.Add([]byte(`{"connectionKey":"k","connection":{"handler":"Redshift","hostname":"h","schema":"s","username":"u","password":"p"},
		"nameTemplate":{"dataSourceFormat":"<Schema>.<Tablename>"},"sources":[{"all":true},{"query":"select 1","naming":{"datasource":"Q"}}]}`))
	f.Add([]byte(`{"connectionKey":"","connection":{"handler":"PostgreSQL"},"owners":[{"type":"x"}],"sources":[{"table":"t"},{"table":"t"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Document
		if json.Unmarshal(data, &d) != nil {
			return
		}
		err := d.validate()
		if err != nil {
			e := errs.As(err)
			if e.Kind != errs.Invalid || len(e.Fields) == 0 {
				t.Fatalf("validation error is not a 422 with fields: %v", err)
			}
			return
		}
		if d.Connection.Handler == "PostgreSQL" {
			return // resolved against a live database
		}
		targets, err := (&resolver{doc: &d, strict: true}).resolve(context.Background())
		if err != nil {
			if e := errs.As(err); e.Kind != errs.Invalid {
				t.Fatalf("resolution failed with %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tg := range targets {
			if seen[tg.key] {
				t.Fatalf("two targets for %q", tg.key)
			}
			seen[tg.key] = true
			if tg.names.DataSource == "" || tg.names.SQLTable == "" || !utf8.ValidString(tg.names.DataSource) {
				t.Fatalf("unusable names %+v", tg.names)
			}
		}
	})
}

// FuzzHandlers feeds arbitrary JSON to the handler field parser.
func FuzzHandlers(f *testing.F) {
	f.Add([]byte(`{"metadata":{"hostname":"h","table":"t"}}`))
	f.Add([]byte(`[{"metadata":{}},{"metadata":null}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, fields, err := parseHandlers(data)
		if err != nil {
			if errs.As(err).Kind != errs.Invalid {
				t.Fatalf("not a 422: %v", err)
			}
			return
		}
		if len(items) == 0 || len(items) != len(fields) {
			t.Fatalf("%d items, %d fields", len(items), len(fields))
		}
		for _, it := range items {
			if len(it.Metadata) > 0 && json.Valid(it.Metadata) {
				_, _ = publicMetadata(it.Metadata)
			}
		}
	})
}

func TestCheckTextNamesFields(t *testing.T) {
	doc := map[string]any{"a": "ok", "b": []any{"x", "y\x00"}, "c": map[string]any{"d": "\x00"}, "e": `\u0000 as text`}
	err := checkText("", doc)
	var got []string
	for _, f := range errs.As(err).Fields {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, []string{"b[1]", "c.d"}) {
		t.Fatalf("fields %v (%v)", got, err)
	}
	if err := checkText("name", "plain"); err != nil {
		t.Fatal(err)
	}
	if err := checkText("name", "a\x00"); errs.As(err).Fields[0].Field != "name" {
		t.Fatal(err)
	}
}

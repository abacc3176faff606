// Package naming renders the names custos gives registered data sources
// from a V2 name template: the data source name, its SQL schema and table
// names, and its schema project.
//
// A template is text with placeholders: <tablename>, <schema> and
// <database> give the remote name in lower case; <Tablename>, <Schema> and
// <Database> give it in title case, with underscores and dashes read as word
// breaks ("credit_accounts" becomes "Credit Accounts"). SQL names are then
// reduced to lower-case letters, digits and underscores.
package naming

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custosdata/custos/internal/errs"
)

// Template is the nameTemplate block of a V2 data-source payload.
type Template struct {
	DataSourceFormat        string `json:"dataSourceFormat,omitempty"`
	TableFormat             string `json:"tableFormat,omitempty"`
	SchemaFormat            string `json:"schemaFormat,omitempty"`
	SchemaProjectNameFormat string `json:"schemaProjectNameFormat,omitempty"`
	NativeSchemaFormat      string `json:"nativeSchemaFormat,omitempty"`
	NativeViewFormat        string `json:"nativeViewFormat,omitempty"`
}

// Default is the template of a payload without nameTemplate: table
// shop.credit_accounts becomes data source "Shop Credit Accounts", SQL table
// credit_accounts in SQL schema shop, schema project "Shop".
var Default = Template{
	DataSourceFormat:        "<Schema> <Tablename>",
	TableFormat:             "<tablename>",
	SchemaFormat:            "<schema>",
	SchemaProjectNameFormat: "<Schema>",
}

// WithDefaults fills the formats left empty from Default.
func (t Template) WithDefaults() Template {
	if t.DataSourceFormat == "" {
		t.DataSourceFormat = Default.DataSourceFormat
	}
	if t.TableFormat == "" {
		t.TableFormat = Default.TableFormat
	}
	if t.SchemaFormat == "" {
		t.SchemaFormat = Default.SchemaFormat
	}
	if t.SchemaProjectNameFormat == "" {
		t.SchemaProjectNameFormat = Default.SchemaProjectNameFormat
	}
	return t
}

// Placeholder names, in lower case.
const (
	Table    = "tablename"
	Schema   = "schema"
	Database = "database"
)

// MaxLength bounds rendered names (in characters).
const MaxLength = 255

// Validate checks every format: placeholders must be known, and the data
// source and table formats must name the table, or every table of a schema
// would get the same name. Problems are 422s naming field.<format>.
func (t Template) Validate(field string) error {
	var l errs.List
	check := func(name, format string, needTable bool) {
		at := field + "." + name
		if len(format) > 1024 {
			l.Add(at, errs.CodeInvalid, "%s is longer than 1024 characters", at)
			return
		}
		parts, err := parse(format)
		if err != nil {
			l.Add(at, errs.CodeInvalid, "%s: %v", at, err)
			return
		}
		if needTable && format != "" && !hasTable(parts) {
			l.Add(at, errs.CodeInvalid, "%s must contain <tablename> or <Tablename>, or every table would get the same name", at)
		}
	}
	check("dataSourceFormat", t.DataSourceFormat, true)
	check("tableFormat", t.TableFormat, true)
	check("schemaFormat", t.SchemaFormat, false)
	check("schemaProjectNameFormat", t.SchemaProjectNameFormat, false)
	check("nativeSchemaFormat", t.NativeSchemaFormat, false)
	check("nativeViewFormat", t.NativeViewFormat, false)
	return l.Err()
}

// part is a literal or a placeholder of a format.
type part struct {
	literal     string
	placeholder string // Table, Schema or Database
	title       bool   // the placeholder was capitalised
}

// parse splits a format into literals and placeholders. A '<' that does not
// open <word> is literal text; <word> with an unknown word is an error.
func parse(format string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(format); {
		if format[i] == '<' {
			end := strings.IndexByte(format[i+1:], '>')
			if end > 0 && isWord(format[i+1:i+1+end]) {
				word := format[i+1 : i+1+end]
				lower := strings.ToLower(word)
				switch lower {
				case Table, Schema, Database:
				default:
					return nil, fmt.Errorf("unknown placeholder <%s>; use <tablename>, <schema> or <database> (capitalised for title case)", word)
				}
				if lit.Len() > 0 {
					parts = append(parts, part{literal: lit.String()})
					lit.Reset()
				}
				r, _ := utf8.DecodeRuneInString(word)
				parts = append(parts, part{placeholder: lower, title: unicode.IsUpper(r)})
				i += end + 2
				continue
			}
		}
		lit.WriteByte(format[i])
		i++
	}
	if lit.Len() > 0 {
		parts = append(parts, part{literal: lit.String()})
	}
	return parts, nil
}

func isWord(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

func hasTable(parts []part) bool {
	for _, p := range parts {
		if p.placeholder == Table {
			return true
		}
	}
	return false
}

// Remote names the remote object a data source reads.
type Remote struct {
	Database, Schema, Table string
}

// Names are what a template gives one data source.
type Names struct {
	DataSource    string // the data source name
	SQLSchema     string // lower case, [a-z0-9_]
	SQLTable      string // lower case, [a-z0-9_]
	SchemaProject string
}

// Render applies the template (with defaults for empty formats) to a remote
// table. Formats that do not validate render their placeholders literally.
func (t Template) Render(r Remote) Names {
	t = t.WithDefaults()
	n := Names{
		DataSource:    Display(render(t.DataSourceFormat, r)),
		SQLSchema:     SQLName(render(t.SchemaFormat, r)),
		SQLTable:      SQLName(render(t.TableFormat, r)),
		SchemaProject: Display(render(t.SchemaProjectNameFormat, r)),
	}
	if n.DataSource == "" { // a name made only of separators
		n.DataSource = n.SQLTable
	}
	if n.SchemaProject == "" {
		n.SchemaProject = n.SQLSchema
	}
	return n
}

func render(format string, r Remote) string {
	parts, err := parse(format)
	if err != nil {
		return format
	}
	var b strings.Builder
	for _, p := range parts {
		if p.placeholder == "" {
			b.WriteString(p.literal)
			continue
		}
		v := map[string]string{Table: r.Table, Schema: r.Schema, Database: r.Database}[p.placeholder]
		if p.title {
			b.WriteString(Title(v))
		} else {
			b.WriteString(strings.ToLower(v))
		}
	}
	return b.String()
}

// Title lower-cases s and capitalises each word, reading underscores, dashes
// and blanks as word breaks: "credit_accounts" and "CREDIT-ACCOUNTS" both
// become "Credit Accounts".
func Title(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == '_' || r == '-' || unicode.IsSpace(r)
	})
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

// Display tidies a rendered display name: invalid UTF-8 and control
// characters dropped, blanks collapsed, trimmed and bounded by MaxLength.
func Display(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, MaxLength)
}

// SQLName reduces s to a SQL name: lower-case ASCII letters, digits and
// underscores, without leading, trailing or repeated underscores, at most
// MaxLength bytes. A name with nothing left is "data_source".
func SQLName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	out := b.String()
	if len(out) > MaxLength {
		out = strings.TrimRight(out[:MaxLength], "_")
	}
	if out == "" {
		return "data_source"
	}
	return out
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}

// Unique returns base when taken reports it free, else the first of base+sep+"2",
// base+sep+"3", ... that is free, shortening base so that the result stays
// within MaxLength characters.
func Unique(base, sep string, taken func(string) bool) string {
	if !taken(base) {
		return base
	}
	for n := 2; ; n++ {
		suffix := sep + strconv.Itoa(n)
		name := truncate(base, MaxLength-utf8.RuneCountInString(suffix)) + suffix
		if !taken(name) {
			return name
		}
	}
}

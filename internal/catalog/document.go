package catalog

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/custosdata/custos/internal/catalog/naming"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/tags"
)

// Document is the payload of POST /api/v2/data: the complete desired state
// of the data sources of one connection key.
type Document struct {
	ConnectionKey string               `json:"connectionKey"`
	Connection    connector.Connection `json:"connection"`
	NameTemplate  *naming.Template     `json:"nameTemplate,omitempty"`
	Options       *Options             `json:"options,omitempty"`
	// Owners of every data source. Absent (nil) leaves owners as they are;
	// an empty list removes every owner but the caller.
	Owners  *[]Owner `json:"owners,omitempty"`
	Sources []Source `json:"sources,omitempty"`
}

// Options are the registration options of a document.
type Options struct {
	StaleDataTolerance            *int64   `json:"staleDataTolerance,omitempty"`
	DisableSensitiveDataDiscovery bool     `json:"disableSensitiveDataDiscovery,omitempty"`
	DomainCollectionID            string   `json:"domainCollectionId,omitempty"`
	HardDelete                    bool     `json:"hardDelete,omitempty"`
	TableTags                     []string `json:"tableTags,omitempty"`
}

// Owner names a user or group that owns data sources.
type Owner struct {
	Type string `json:"type"` // user or group
	Name string `json:"name"` // the user's login name or the group's name
	IAM  string `json:"iam,omitempty"`
}

// Source is one entry of sources: all remaining tables, one table, or a
// query, with its options.
type Source struct {
	All                bool                `json:"all,omitempty"`
	Table              string              `json:"table,omitempty"`
	Schema             string              `json:"schema,omitempty"`
	Query              string              `json:"query,omitempty"`
	Naming             *SourceNaming       `json:"naming,omitempty"`
	Description        string              `json:"description,omitempty"`
	Documentation      string              `json:"documentation,omitempty"`
	Columns            []ColumnSpec        `json:"columns,omitempty"`
	ColumnDescriptions []ColumnDescription `json:"columnDescriptions,omitempty"`
	Owners             *[]Owner            `json:"owners,omitempty"`
	Tags               *SourceTags         `json:"tags,omitempty"`
}

// SourceNaming overrides the name template for one source.
type SourceNaming struct {
	Datasource string `json:"datasource,omitempty"`
	Table      string `json:"table,omitempty"`
	Schema     string `json:"schema,omitempty"`
}

// ColumnSpec lists a column of a source; a source that lists columns has
// exactly those.
type ColumnSpec struct {
	Name        string `json:"name"`
	DataType    string `json:"dataType,omitempty"`
	Nullable    *bool  `json:"nullable,omitempty"`
	RemoteType  string `json:"remoteType,omitempty"`
	PrimaryKey  bool   `json:"primaryKey,omitempty"`
	Description string `json:"description,omitempty"`
}

// ColumnDescription describes one column without listing every column.
type ColumnDescription struct {
	ColumnName  string `json:"columnName"`
	Description string `json:"description"`
}

// SourceTags are tags for one source's data source and columns.
type SourceTags struct {
	Table   []string     `json:"table,omitempty"`
	Columns []ColumnTags `json:"columns,omitempty"`
}

// ColumnTags are tags for one column.
type ColumnTags struct {
	ColumnName string   `json:"columnName"`
	Tags       []string `json:"tags"`
}

// template returns the document's name template with defaults.
func (d *Document) template() naming.Template {
	if d.NameTemplate == nil {
		return naming.Default
	}
	return d.NameTemplate.WithDefaults()
}

func (d *Document) options() Options {
	if d.Options == nil {
		return Options{}
	}
	return *d.Options
}

// monitored reports whether the document registers every table (no sources,
// or an all source), which turns schema monitoring on.
func (d *Document) monitored() bool {
	if len(d.Sources) == 0 {
		return true
	}
	for _, s := range d.Sources {
		if s.All {
			return true
		}
	}
	return false
}

// Limits on a document.
const (
	maxKeyLength = 255
	maxSources   = 100000
	maxText      = 64 << 10
)

// validate checks the document's shape without looking anything up, and
// reports every problem as a 422 naming its field. The connection is checked
// against its technology by connector.Connection.Validate.
func (d *Document) validate() error {
	var l errs.List
	if err := addText(&l, "", d); err != nil {
		return err
	}
	switch key := d.ConnectionKey; {
	case strings.TrimSpace(key) == "":
		l.Add("connectionKey", errs.CodeRequired, "connectionKey is required: a name for this collection of data sources")
	case len(key) > maxKeyLength:
		l.Add("connectionKey", errs.CodeInvalid, "connectionKey is longer than %d characters", maxKeyLength)
	case strings.IndexFunc(key, unicode.IsControl) >= 0 || key != strings.TrimSpace(key):
		l.Add("connectionKey", errs.CodeInvalid, "connectionKey must not contain control characters or surrounding blanks")
	}
	if err := d.Connection.Validate("connection"); err != nil {
		l = append(l, errs.As(err).Fields...)
	}
	if d.NameTemplate != nil {
		if err := d.NameTemplate.Validate("nameTemplate"); err != nil {
			l = append(l, errs.As(err).Fields...)
		}
	}
	o := d.options()
	if o.StaleDataTolerance != nil && *o.StaleDataTolerance < 0 {
		l.Add("options.staleDataTolerance", errs.CodeInvalid, "options.staleDataTolerance is a number of seconds, not %d", *o.StaleDataTolerance)
	}
	if o.DomainCollectionID != "" {
		l.Add("options.domainCollectionId", errs.CodeNotFound, "domain %q does not exist: custos has no domains", o.DomainCollectionID)
	}
	validateTags(&l, "options.tableTags", o.TableTags)
	if d.Owners != nil {
		validateOwners(&l, "owners", *d.Owners)
	}
	if len(d.Sources) > maxSources {
		l.Add("sources", errs.CodeInvalid, "sources lists more than %d entries", maxSources)
		return l.Err()
	}
	tables := map[[2]string]string{}
	names := map[string]string{}
	for i, s := range d.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		kinds := 0
		if s.All {
			kinds++
		}
		if s.Table != "" {
			kinds++
		}
		if s.Query != "" {
			kinds++
		}
		if kinds != 1 {
			l.Add(at, errs.CodeInvalid, "%s must be exactly one of all: true, a table (with its schema) or a query", at)
			continue
		}
		if s.All {
			if s.Naming != nil || len(s.Columns) > 0 || len(s.ColumnDescriptions) > 0 || s.Tags != nil || s.Owners != nil ||
				s.Description != "" || s.Documentation != "" {
				l.Add(at, errs.CodeInvalid, "%s: all: true takes no other options; list a table to give it options", at)
			}
			continue
		}
		if s.Table != "" {
			schema := s.Schema
			if schema == "" {
				schema = d.Connection.Schema
			}
			if schema == "" {
				l.Add(at+".schema", errs.CodeRequired, "%s.schema is required (or connection.schema)", at)
			}
			k := [2]string{schema, s.Table}
			if prev, dup := tables[k]; dup {
				l.Add(at+".table", errs.CodeUnique, "table %s.%s is listed twice (also at %s)", schema, s.Table, prev)
			}
			tables[k] = at
		}
		if s.Query != "" {
			if s.Naming == nil || strings.TrimSpace(s.Naming.Datasource) == "" {
				l.Add(at+".naming.datasource", errs.CodeRequired, "a query source needs naming.datasource: the data source's name")
			}
			if s.Schema != "" {
				l.Add(at+".schema", errs.CodeInvalid, "a query source takes no schema; name its SQL schema with naming.schema")
			}
		}
		if s.Naming != nil {
			if n := strings.TrimSpace(s.Naming.Datasource); n != "" {
				if naming.Display(n) != n {
					l.Add(at+".naming.datasource", errs.CodeInvalid, "naming.datasource %q has control characters, repeated blanks or is too long", n)
				}
				if prev, dup := names[n]; dup {
					l.Add(at+".naming.datasource", errs.CodeUnique, "data source name %q is used twice (also at %s)", n, prev)
				}
				names[n] = at
			}
			for _, f := range []struct{ field, v string }{{"table", s.Naming.Table}, {"schema", s.Naming.Schema}} {
				if f.v != "" && naming.SQLName(f.v) != f.v {
					l.Add(at+".naming."+f.field, errs.CodeInvalid, "naming.%s %q may only hold lower-case letters, digits and single underscores", f.field, f.v)
				}
			}
		}
		if len(s.Description) > maxText || len(s.Documentation) > maxText {
			l.Add(at, errs.CodeInvalid, "%s: description and documentation are limited to %d bytes", at, maxText)
		}
		live := connector.Live(d.Connection.Handler)
		seen := map[string]bool{}
		for j, c := range s.Columns {
			cat := fmt.Sprintf("%s.columns[%d]", at, j)
			switch {
			case strings.TrimSpace(c.Name) == "":
				l.Add(cat+".name", errs.CodeRequired, "%s.name is required", cat)
			case seen[c.Name]:
				l.Add(cat+".name", errs.CodeUnique, "column %q is listed twice", c.Name)
			}
			seen[c.Name] = true
			if !live && strings.TrimSpace(c.DataType) == "" {
				l.Add(cat+".dataType", errs.CodeRequired, "%s.dataType is required: custos cannot read the columns of %s", cat, d.Connection.Handler)
			}
		}
		for j, c := range s.ColumnDescriptions {
			if strings.TrimSpace(c.ColumnName) == "" {
				l.Add(fmt.Sprintf("%s.columnDescriptions[%d].columnName", at, j), errs.CodeRequired, "columnName is required")
			}
		}
		if s.Owners != nil {
			validateOwners(&l, at+".owners", *s.Owners)
		}
		if s.Tags != nil {
			validateTags(&l, at+".tags.table", s.Tags.Table)
			for j, c := range s.Tags.Columns {
				cat := fmt.Sprintf("%s.tags.columns[%d]", at, j)
				if strings.TrimSpace(c.ColumnName) == "" {
					l.Add(cat+".columnName", errs.CodeRequired, "%s.columnName is required", cat)
				}
				validateTags(&l, cat+".tags", c.Tags)
			}
		}
	}
	return l.Err()
}

func validateTags(l *errs.List, field string, names []string) {
	for i, n := range names {
		if err := tags.ValidName(n); err != nil {
			l.Add(fmt.Sprintf("%s[%d]", field, i), errs.CodeInvalid, "%v", err)
		}
	}
}

func validateOwners(l *errs.List, field string, owners []Owner) {
	for i, o := range owners {
		at := fmt.Sprintf("%s[%d]", field, i)
		if o.Type != "user" && o.Type != "group" {
			l.Add(at+".type", errs.CodeEnum, "%s.type must be user or group, not %q", at, o.Type)
		}
		if strings.TrimSpace(o.Name) == "" {
			l.Add(at+".name", errs.CodeRequired, "%s.name is required", at)
		}
	}
}

// public returns the document with every secret left out, as
// GET /api/v2/data/{connectionKey} shows it.
func (d Document) public() Document {
	d.Connection = withoutSecrets(d.Connection)
	return d
}

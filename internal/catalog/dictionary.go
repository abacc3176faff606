package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// Dictionary is a data source's columns with their tags.
type Dictionary struct {
	DataSource *store.DataSource
	Columns    []store.Column
	Tags       map[string][]*store.ModelTag // by column name
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DictionaryColumn is a column of a dictionary payload.
type DictionaryColumn struct {
	Name        string  `json:"name"`
	DataType    string  `json:"dataType"`
	RemoteType  string  `json:"remoteType,omitempty"`
	Nullable    *bool   `json:"nullable,omitempty"`
	PrimaryKey  bool    `json:"primaryKey,omitempty"`
	Description *string `json:"description,omitempty"`
	// Tags, when given, are the column's tags attached by hand: those
	// listed are attached, those attached by hand and not listed are
	// detached. Tags discovery or a V2 document attached stay.
	Tags *[]DictionaryTag `json:"tags,omitempty"`
}

// DictionaryTag is a column tag of a dictionary payload: a name, or an
// object with one as dictionaries answer them.
type DictionaryTag struct {
	Name string `json:"name"`
}

// UnmarshalJSON accepts "name" and {"name": "name", ...}.
func (t *DictionaryTag) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Name)
	}
	var obj struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	t.Name = obj.Name
	return nil
}

// Dictionary returns a data source's dictionary.
func (s *Service) Dictionary(ctx context.Context, p *auth.Principal, id int64) (*Dictionary, error) {
	q := &s.db.Queries
	d, err := s.Visible(ctx, q, p, id)
	if err != nil {
		return nil, err
	}
	return dictionaryOf(ctx, q, d)
}

func dictionaryOf(ctx context.Context, q *store.Queries, d *store.DataSource) (*Dictionary, error) {
	cols, err := q.ColumnsOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	tagsOf, err := q.ColumnTagsOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	out := &Dictionary{DataSource: d, Columns: cols[d.ID], Tags: map[string][]*store.ModelTag{}, CreatedAt: d.CreatedAt,
		UpdatedAt: d.CreatedAt}
	for i, c := range out.Columns {
		out.Tags[c.Name] = tagsOf[store.ColumnModelID(d.ID, c.Name)]
		if i == 0 || c.CreatedAt.Before(out.CreatedAt) {
			out.CreatedAt = c.CreatedAt
		}
		if c.UpdatedAt.After(out.UpdatedAt) {
			out.UpdatedAt = c.UpdatedAt
		}
	}
	return out, nil
}

// mayEditDictionary allows governors, owners and experts of the data source.
func mayEditDictionary(ctx context.Context, q *store.Queries, p *auth.Principal, d *store.DataSource) error {
	if err := MayChange(ctx, q, p, d); err == nil || !errs.Is(err, errs.Forbidden) {
		return err
	}
	experts, err := q.AccessToDataSource(ctx, d.ID, store.AccessExpert)
	if err != nil {
		return err
	}
	for _, e := range experts {
		if e.ModelType == store.ModelUser && p.Is(e.ModelID) {
			return nil
		}
	}
	return errs.Forbiddenf("changing the dictionary of %q requires being its owner or expert, or the %s permission", d.Name, auth.Governance)
}

// SetDictionary replaces a data source's columns with the ones given; create
// refuses a data source that already has columns (POST), otherwise it
// replaces them (PUT). The data source then keeps these columns: schema
// monitoring no longer changes them.
func (s *Service) SetDictionary(ctx context.Context, p *auth.Principal, id int64, cols []DictionaryColumn, create bool) (*Dictionary, error) {
	var l errs.List
	if len(cols) == 0 {
		l.Add("metadata", errs.CodeRequired, "metadata must list the columns")
	}
	if err := addText(&l, "metadata", cols); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	want := make([]store.Column, 0, len(cols))
	for i, c := range cols {
		at := fmt.Sprintf("metadata[%d]", i)
		switch {
		case strings.TrimSpace(c.Name) == "":
			l.Add(at+".name", errs.CodeRequired, "%s.name is required", at)
		case seen[c.Name]:
			l.Add(at+".name", errs.CodeUnique, "column %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		if strings.TrimSpace(c.DataType) == "" {
			l.Add(at+".dataType", errs.CodeRequired, "%s.dataType is required", at)
		}
		if c.Tags != nil {
			for j, t := range *c.Tags {
				if err := tags.ValidName(t.Name); err != nil {
					l.Add(fmt.Sprintf("%s.tags[%d].name", at, j), errs.CodeInvalid, "%v", err)
				}
			}
		}
		nullable := c.Nullable == nil || *c.Nullable
		want = append(want, store.Column{Name: c.Name, Position: int64(i + 1), DataType: c.DataType,
			RemoteType: optional(c.RemoteType), Nullable: nullable, PrimaryKey: c.PrimaryKey, Description: c.Description})
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	var out *Dictionary
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		d, err := s.visibleForUpdate(ctx, q, p, id)
		if err != nil {
			return err
		}
		if err := mayEditDictionary(ctx, q, p, d); err != nil {
			return err
		}
		have, err := q.ColumnsOf(ctx, id)
		if err != nil {
			return err
		}
		if create && len(have[id]) > 0 {
			return errs.Conflictf("data source %q already has a dictionary of %d columns; replace it with PUT", d.Name, len(have[id]))
		}
		now := store.Now()
		diff := diffColumns(have[id], want)
		for _, name := range diff.remove {
			if err := q.DeleteColumn(ctx, id, name); err != nil {
				return err
			}
		}
		for _, c := range diff.change {
			c.UpdatedAt = now
			if err := q.UpsertColumn(ctx, id, c); err != nil {
				return err
			}
		}
		for i := range diff.add {
			diff.add[i].CreatedAt, diff.add[i].UpdatedAt = now, now
		}
		if err := q.InsertColumns(ctx, id, diff.add); err != nil {
			return err
		}
		if err := setColumnTags(ctx, q, p, id, cols, now); err != nil {
			return err
		}
		d.ColumnsFixed, d.UpdatedAt = true, now
		if err := q.UpdateDataSource(ctx, d); err != nil {
			return err
		}
		if !diff.empty() {
			if err := q.AppendChange(ctx, ChangeColumns, ModelDataSource, idString(id)); err != nil {
				return err
			}
		}
		typ := "dictionaryUpdate"
		if create {
			typ = "dictionaryCreate"
		}
		if err := audit.Write(ctx, q, audit.Event{Type: typ, Success: true, TargetType: ModelDataSource, TargetID: idString(id),
			DataSourceID: &id, DataSourceName: d.Name, Details: map[string]any{"added": len(diff.add), "removed": len(diff.remove),
				"changed": len(diff.change)}}); err != nil {
			return err
		}
		out, err = dictionaryOf(ctx, q, d)
		return err
	})
	return out, err
}

// DeleteDictionary removes every column of a data source (and their tags).
func (s *Service) DeleteDictionary(ctx context.Context, p *auth.Principal, id int64) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		d, err := s.visibleForUpdate(ctx, q, p, id)
		if err != nil {
			return err
		}
		if err := mayEditDictionary(ctx, q, p, d); err != nil {
			return err
		}
		if err := q.DeleteColumnsOf(ctx, id); err != nil {
			return err
		}
		d.ColumnsFixed, d.UpdatedAt = true, store.Now()
		if err := q.UpdateDataSource(ctx, d); err != nil {
			return err
		}
		if err := q.AppendChange(ctx, ChangeColumns, ModelDataSource, idString(id)); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "dictionaryDelete", Success: true, TargetType: ModelDataSource,
			TargetID: idString(id), DataSourceID: &id, DataSourceName: d.Name})
	})
}

// SearchColumns returns distinct column names containing searchText.
func (s *Service) SearchColumns(ctx context.Context, p *auth.Principal, searchText string, limit int) ([]string, error) {
	return s.db.ColumnNames(ctx, searchText, limit)
}

// setColumnTags makes the hand-attached tags of each column that lists
// tags exactly the ones listed; every tag must exist.
func setColumnTags(ctx context.Context, q *store.Queries, p *auth.Principal, id int64, cols []DictionaryColumn, now time.Time) error {
	var names []string
	for _, c := range cols {
		if c.Tags != nil {
			for _, t := range *c.Tags {
				names = append(names, t.Name)
			}
		}
	}
	known, err := q.TagsByName(ctx, names)
	if err != nil {
		return err
	}
	var l errs.List
	for i, c := range cols {
		if c.Tags == nil {
			continue
		}
		for j, t := range *c.Tags {
			if k := known[t.Name]; k == nil || k.Deleted {
				l.Add(fmt.Sprintf("metadata[%d].tags[%d].name", i, j), errs.CodeNotFound, "tag %q does not exist; create it with POST /tag first", t.Name)
			}
		}
	}
	if err := l.Err(); err != nil {
		return err
	}
	current, err := q.ColumnTagsOf(ctx, id)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if c.Tags == nil {
			continue
		}
		model := store.ColumnModelID(id, c.Name)
		listed := map[string]bool{}
		var add []string
		for _, t := range *c.Tags {
			if !listed[t.Name] {
				listed[t.Name] = true
				add = append(add, t.Name)
			}
		}
		var drop []string
		for _, m := range current[model] {
			if m.Context == "manual" && !listed[m.Tag.Name] {
				drop = append(drop, m.Tag.Name)
			}
		}
		if err := attach(ctx, q, ModelColumn, model, add, known, "manual", &p.UserID, now); err != nil {
			return err
		}
		if err := detach(ctx, q, ModelColumn, model, drop); err != nil {
			return err
		}
	}
	return nil
}

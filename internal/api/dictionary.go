package api

import (
	"time"

	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/errs"
)

type dictionaryColumnJSON struct {
	Name        string          `json:"name"`
	DataType    string          `json:"dataType"`
	RemoteType  *string         `json:"remoteType"`
	Nullable    bool            `json:"nullable"`
	PrimaryKey  bool            `json:"primaryKey"`
	Description *string         `json:"description"`
	IsNew       bool            `json:"isNew" doc:"the column appeared after registration (tagged New)"`
	Tags        []columnTagJSON `json:"tags"`
}

// columnTagJSON is a tag of a dictionary column, as the reference shows it.
type columnTagJSON struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Context string `json:"context" doc:"who attached it: manual, v2 (a V2 document), sdd (discovery) or schemaMonitoring"`
	AddedBy *int64 `json:"addedBy"`
	Deleted bool   `json:"deleted"`
}

type dictionaryJSON struct {
	ID         int64                  `json:"id" doc:"the dictionary's id, which is its data source's"`
	DataSource int64                  `json:"dataSource"`
	Metadata   []dictionaryColumnJSON `json:"metadata"`
	Types      []string               `json:"types" doc:"the distinct data types"`
	CreatedAt  time.Time              `json:"createdAt"`
	UpdatedAt  time.Time              `json:"updatedAt"`
}

func dictionaryOf(d *catalog.Dictionary) dictionaryJSON {
	out := dictionaryJSON{ID: d.DataSource.ID, DataSource: d.DataSource.ID, Metadata: make([]dictionaryColumnJSON, len(d.Columns)),
		Types: []string{}, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	seen := map[string]bool{}
	for i, c := range d.Columns {
		tags := []columnTagJSON{}
		for _, t := range d.Tags[c.Name] {
			tags = append(tags, columnTagJSON{Name: t.Tag.Name, Source: t.Source, Context: t.Context, AddedBy: t.AddedBy,
				Deleted: t.Tag.Deleted})
		}
		out.Metadata[i] = dictionaryColumnJSON{Name: c.Name, DataType: c.DataType, RemoteType: c.RemoteType, Nullable: c.Nullable,
			PrimaryKey: c.PrimaryKey, Description: c.Description, IsNew: c.IsNew, Tags: tags}
		if !seen[c.DataType] {
			seen[c.DataType] = true
			out.Types = append(out.Types, c.DataType)
		}
	}
	return out
}

type dictionaryBody struct {
	Metadata []catalog.DictionaryColumn `json:"metadata" required:"true"`
}

type columnSearchQuery struct {
	SearchText string `query:"searchText" doc:"part of the column name, any case"`
	Limit      int    `query:"limit" doc:"default 10"`
}

type emptyJSON struct{}

func (s *Server) dictionaryRoutes() {
	const tag = "dictionary"
	c := s.Catalog

	s.Handle(Op{Method: "GET", Path: "/dictionary/columns", Summary: "Search column names across every dictionary", Tag: tag,
		Query: columnSearchQuery{}, Response: []string{}}, func(r *Request) (any, error) {
		q := columnSearchQuery{Limit: 10}
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if q.Limit < 1 || q.Limit > 1000 {
			return nil, errs.BadRequestf("query parameter limit must be between 1 and 1000")
		}
		return c.SearchColumns(r.Context(), r.P, q.SearchText, q.Limit)
	})

	s.Handle(Op{Method: "GET", Path: "/dictionary/{dataSourceId}", Summary: "A data source's dictionary", Tag: tag,
		IntParams: []string{"dataSourceId"}, Response: dictionaryJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		d, err := c.Dictionary(r.Context(), r.P, id)
		if err != nil {
			return nil, err
		}
		return dictionaryOf(d), nil
	})

	set := func(create bool) Handler {
		return func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			var b dictionaryBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			d, err := c.SetDictionary(r.Context(), r.P, id, b.Metadata, create)
			if err != nil {
				return nil, err
			}
			return dictionaryOf(d), nil
		}
	}
	s.Handle(Op{Method: "POST", Path: "/dictionary/{dataSourceId}", Summary: "Create the dictionary of a data source without columns",
		Tag: tag, IntParams: []string{"dataSourceId"}, Body: dictionaryBody{}, Response: dictionaryJSON{}}, set(true))
	s.Handle(Op{Method: "PUT", Path: "/dictionary/{dataSourceId}", Summary: "Replace a data source's dictionary", Tag: tag,
		IntParams: []string{"dataSourceId"}, Body: dictionaryBody{}, Response: dictionaryJSON{}}, set(false))

	s.Handle(Op{Method: "DELETE", Path: "/dictionary/{dataSourceId}", Summary: "Delete a data source's dictionary", Tag: tag,
		IntParams: []string{"dataSourceId"}, Response: emptyJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		return emptyJSON{}, c.DeleteDictionary(r.Context(), r.P, id)
	})
}

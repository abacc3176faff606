package api

import (
	"strings"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

type tagJSON struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	DisplayName   string    `json:"displayName" doc:"the last part of the name"`
	Color         *string   `json:"color"`
	Description   *string   `json:"description"`
	Source        string    `json:"source"`
	Deleted       bool      `json:"deleted"`
	SystemCreated bool      `json:"systemCreated"`
	Protected     bool      `json:"protected"`
	CreatedBy     *int64    `json:"createdBy"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

func tagOf(t *store.Tag) tagJSON {
	display := t.Name
	if i := strings.LastIndex(display, "."); i >= 0 {
		display = display[i+1:]
	}
	return tagJSON{ID: t.ID, Name: t.Name, DisplayName: display, Color: t.Color, Description: t.Description,
		Source: t.Source, Deleted: t.Deleted, SystemCreated: t.SystemCreated, Protected: t.Protected || t.SystemCreated,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func tagList(ts []*store.Tag) []tagJSON {
	out := make([]tagJSON, len(ts))
	for i, t := range ts {
		out[i] = tagOf(t)
	}
	return out
}

type tagSaveBody struct {
	RootTag *struct {
		Name            string `json:"name" required:"true"`
		Source          string `json:"source" doc:"only curated is accepted"`
		DeleteHierarchy bool   `json:"deleteHierarchy" doc:"delete the root's existing children that are not listed"`
	} `json:"rootTag"`
	Tags []struct {
		ID   *int64 `json:"id" doc:"give it to rename an existing tag; leave it out to create"`
		Name string `json:"name" required:"true" doc:"the full dotted name"`
	} `json:"tags" required:"true"`
}

type tagSearchQuery struct {
	SearchText           string   `query:"searchText" doc:"substring of the tag name"`
	FuzzySearch          bool     `query:"fuzzySearch" doc:"accepted for compatibility; matching is always by substring"`
	Source               string   `query:"source"`
	ExcludedSource       string   `query:"excludedSource"`
	IncludeAllSystemTags bool     `query:"includeAllSystemTags" doc:"include system tags, even deleted ones"`
	ExcludedHierarchies  []string `query:"excludedHierarchies" doc:"tag names whose hierarchies are left out"`
	Limit                int      `query:"limit"`
}

type modelTagBody struct {
	Name   string `json:"name" required:"true"`
	Source string `json:"source"`
}

type modelTagJSON struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	AddedBy *int64 `json:"addedBy"`
	Deleted bool   `json:"deleted"`
	Context string `json:"context"`
}

type deleteTagQuery struct {
	DeleteHierarchy bool `query:"deleteHierarchy" doc:"delete the tag's children too"`
}

type refreshJSON struct {
	Refreshed int    `json:"refreshed"`
	Message   string `json:"message"`
}

func (s *Server) tagRoutes() {
	const tag = "tags"
	t := s.Tags
	s.Handle(Op{Method: "POST", Path: "/tag", Summary: "Create tags (with their parents) or rename existing ones",
		Tag: tag, Permission: auth.Governance, Body: tagSaveBody{}, Response: []tagJSON{}}, func(r *Request) (any, error) {
		var b tagSaveBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		var root *tags.RootTag
		if b.RootTag != nil {
			root = &tags.RootTag{Name: b.RootTag.Name, DeleteHierarchy: b.RootTag.DeleteHierarchy}
		}
		in := make([]tags.TagInput, len(b.Tags))
		for i, x := range b.Tags {
			in[i] = tags.TagInput{ID: x.ID, Name: x.Name}
		}
		out, err := t.Save(r.Context(), r.P, root, in)
		if err != nil {
			return nil, err
		}
		return tagList(out), nil
	})

	s.Handle(Op{Method: "GET", Path: "/tag", Summary: "Search tags", Tag: tag, Query: tagSearchQuery{},
		Response: []tagJSON{}}, func(r *Request) (any, error) {
		var q tagSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		found, err := t.Search(r.Context(), r.P, store.TagFilter{SearchText: q.SearchText, Source: q.Source,
			ExcludedSource: q.ExcludedSource, IncludeSystem: true, IncludeDeleted: q.IncludeAllSystemTags,
			ExcludedHierarchies: q.ExcludedHierarchies, Limit: q.Limit})
		if err != nil {
			return nil, err
		}
		return tagList(found), nil
	})

	s.Handle(Op{Method: "POST", Path: "/tag/refresh", Summary: "Refresh tags from external catalogs", Tag: tag,
		Permission: auth.Governance, Response: refreshJSON{}}, func(r *Request) (any, error) {
		return refreshJSON{Refreshed: 0, Message: "no external catalog is connected; custos tags are always current"}, auditNote(r, "tagRefresh")
	})

	s.Handle(Op{Method: "DELETE", Path: "/tag/{tag}", Summary: "Delete a tag (and with deleteHierarchy its children)",
		Tag: tag, Permission: auth.Governance, Query: deleteTagQuery{}, Response: []tagJSON{}}, func(r *Request) (any, error) {
		var q deleteTagQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		out, err := t.Delete(r.Context(), r.P, r.Path("tag"), q.DeleteHierarchy)
		if err != nil {
			return nil, err
		}
		return tagList(out), nil
	})

	s.Handle(Op{Method: "POST", Path: "/tag/{modelType}/{modelId}", Summary: "Attach tags to a data source, column, project, user or group",
		Tag: tag, Body: []modelTagBody{}, Response: []modelTagJSON{}}, func(r *Request) (any, error) {
		var b []modelTagBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		names := make([]string, len(b))
		source := ""
		for i, x := range b {
			names[i] = x.Name
			if x.Source != "" {
				source = x.Source
			}
		}
		attached, err := t.Attach(r.Context(), r.P, r.Path("modelType"), r.Path("modelId"), names, source)
		if err != nil {
			return nil, err
		}
		out := make([]modelTagJSON, len(attached))
		for i, m := range attached {
			out[i] = modelTagJSON{Name: m.Tag.Name, Source: m.Source, AddedBy: m.AddedBy, Context: m.Context}
		}
		return out, nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/tag/{modelType}/{modelId}/{tag}", Summary: "Detach a tag from a model",
		Tag: tag}, func(r *Request) (any, error) {
		return nil, t.Detach(r.Context(), r.P, r.Path("modelType"), r.Path("modelId"), r.Path("tag"))
	})
}

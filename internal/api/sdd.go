package api

import (
	"time"

	"github.com/custosdata/custos/internal/catalog/discovery"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/sdd"
	"github.com/custosdata/custos/internal/store"
)

type creatorJSON struct {
	ID    *int64 `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func creatorOf(u *store.User) creatorJSON {
	if u == nil {
		return creatorJSON{Name: "Custos System Account"}
	}
	return creatorJSON{ID: &u.ID, Name: u.Name, Email: u.Email}
}

type identifierJSON struct {
	CreatedBy   creatorJSON `json:"createdBy"`
	Name        string      `json:"name"`
	DisplayName string      `json:"displayName"`
	Description string      `json:"description"`
	Type        sdd.Type    `json:"type"`
	Config      sdd.Config  `json:"config"`
	ID          int64       `json:"id"`
	BuiltIn     bool        `json:"builtIn" doc:"shipped with custos; read-only"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
}

func identifierOf(x *discovery.Identifier) identifierJSON {
	cfg := x.Def.Config
	if cfg.Tags == nil {
		cfg.Tags = []string{}
	}
	if x.Record.BuiltIn && cfg.ConditionalTags == nil {
		cfg.ConditionalTags = map[string]sdd.TagCondition{}
	}
	return identifierJSON{CreatedBy: creatorOf(x.CreatedBy), Name: x.Def.Name, DisplayName: x.Def.DisplayName,
		Description: x.Def.Description, Type: x.Def.Type, Config: cfg, ID: x.Record.ID, BuiltIn: x.Record.BuiltIn,
		CreatedAt: x.Record.CreatedAt, UpdatedAt: x.Record.UpdatedAt}
}

type frameworkJSON struct {
	Name        string                    `json:"name"`
	DisplayName string                    `json:"displayName"`
	Description string                    `json:"description"`
	CreatedBy   creatorJSON               `json:"createdBy"`
	ID          int64                     `json:"id"`
	CreatedAt   time.Time                 `json:"createdAt"`
	UpdatedAt   time.Time                 `json:"updatedAt"`
	Classifiers []sdd.FrameworkIdentifier `json:"classifiers"`
	Global      bool                      `json:"global" doc:"the framework of data sources that have none applied"`
	BuiltIn     bool                      `json:"builtIn" doc:"shipped with custos; read-only"`
}

func frameworkOf(x *discovery.Framework) frameworkJSON {
	cl := x.Def.Classifiers
	if cl == nil {
		cl = []sdd.FrameworkIdentifier{}
	}
	return frameworkJSON{Name: x.Def.Name, DisplayName: x.Def.DisplayName, Description: x.Def.Description,
		CreatedBy: creatorOf(x.CreatedBy), ID: x.Record.ID, CreatedAt: x.Record.CreatedAt, UpdatedAt: x.Record.UpdatedAt,
		Classifiers: cl, Global: x.Record.Global, BuiltIn: x.Record.BuiltIn}
}

type sddSearchQuery struct {
	SortField  string   `query:"sortField" doc:"id, name (default), displayName, type, createdAt or updatedAt"`
	SortOrder  string   `query:"sortOrder" doc:"asc (default) or desc"`
	Offset     int      `query:"offset"`
	OffSet     *int     `query:"offSet" doc:"the documented spelling of offset"`
	Limit      int      `query:"limit" doc:"default 25"`
	SearchText string   `query:"searchText" doc:"part of the name, any case"`
	Type       []string `query:"type" doc:"identifiers only: regex, dictionary, columnNameRegex, builtIn"`
	Classifier []string `query:"classifiers" doc:"frameworks only: those containing every one of these identifiers"`
}

func (q *sddSearchQuery) filter() (store.SDDSearch, error) {
	if q.OffSet != nil {
		q.Offset = *q.OffSet
	}
	if q.Limit == 0 {
		q.Limit = 25
	}
	if q.Limit < 0 || q.Limit > 1000 || q.Offset < 0 {
		return store.SDDSearch{}, errs.BadRequestf("query parameters limit (1-1000) and offset (0 or more) are out of range")
	}
	if err := OneOf("sortField", q.SortField, "id", "name", "displayName", "type", "createdAt", "updatedAt"); err != nil {
		return store.SDDSearch{}, err
	}
	desc, err := SortOrder(q.SortOrder, false)
	if err != nil {
		return store.SDDSearch{}, err
	}
	return store.SDDSearch{SearchText: q.SearchText, Types: q.Type, Identifiers: q.Classifier, Sort: q.SortField,
		Descending: desc, Offset: q.Offset, Limit: q.Limit}, nil
}

type sddApplyBody struct {
	Template *string  `json:"template" required:"true" doc:"framework name; null lets the data sources use the global framework"`
	Sources  []string `json:"sources" required:"true" doc:"data source names"`
}

type sddGlobalBody struct {
	Template string `json:"template" required:"true"`
}

type successJSON struct {
	Success bool `json:"success"`
}

type sddRunBody struct {
	Sources  []string `json:"sources" doc:"data source names"`
	All      bool     `json:"all" doc:"run on every data source"`
	Wait     *int     `json:"wait" doc:"seconds to wait for the jobs; -1 (default) waits until they finish"`
	DryRun   bool     `json:"dryRun" doc:"report the tags that would change, changing none"`
	Template string   `json:"template" doc:"dry runs only: use this framework"`
}

type sddJobCountJSON struct {
	JobCount int `json:"jobCount"`
}

func (s *Server) sddRoutes() {
	const tag = "sensitive data discovery"
	d := s.Discovery

	s.Handle(Op{Method: "POST", Path: "/sdd/classifier", Summary: "Create an identifier", Tag: tag,
		Body: sdd.Identifier{}, Response: identifierJSON{}}, func(r *Request) (any, error) {
		var def sdd.Identifier
		if err := r.Decode(&def); err != nil {
			return nil, err
		}
		x, err := d.CreateIdentifier(r.Context(), r.P, def)
		if err != nil {
			return nil, err
		}
		return identifierOf(x), nil
	})

	s.Handle(Op{Method: "GET", Path: "/sdd/classifier", Summary: "Search identifiers, built-in ones included", Tag: tag,
		Query: sddSearchQuery{}, Response: Page[identifierJSON]{}}, func(r *Request) (any, error) {
		var q sddSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		f, err := q.filter()
		if err != nil {
			return nil, err
		}
		list, total, err := d.SearchIdentifiers(r.Context(), r.P, f)
		if err != nil {
			return nil, err
		}
		out := Page[identifierJSON]{Count: total, Hits: make([]identifierJSON, len(list))}
		for i, x := range list {
			out.Hits[i] = identifierOf(x)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/sdd/classifier/{classifierName}", Summary: "An identifier", Tag: tag,
		Response: identifierJSON{}}, func(r *Request) (any, error) {
		x, err := d.GetIdentifier(r.Context(), r.P, r.Path("classifierName"))
		if err != nil {
			return nil, err
		}
		return identifierOf(x), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/sdd/classifier/{classifierName}", Summary: "Replace an identifier (it may be renamed)",
		Tag: tag, Body: sdd.Identifier{}, Response: identifierJSON{}}, func(r *Request) (any, error) {
		var def sdd.Identifier
		if err := r.Decode(&def); err != nil {
			return nil, err
		}
		x, err := d.UpdateIdentifier(r.Context(), r.P, r.Path("classifierName"), def)
		if err != nil {
			return nil, err
		}
		return identifierOf(x), nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/sdd/classifier/{classifierName}", Summary: "Delete an identifier no framework uses",
		Tag: tag, Response: identifierJSON{}}, func(r *Request) (any, error) {
		x, err := d.DeleteIdentifier(r.Context(), r.P, r.Path("classifierName"))
		if err != nil {
			return nil, err
		}
		return identifierOf(x), nil
	})

	s.Handle(Op{Method: "POST", Path: "/sdd/template", Summary: "Create a framework", Tag: tag, Body: sdd.Framework{},
		Response: frameworkJSON{}}, func(r *Request) (any, error) {
		var def sdd.Framework
		if err := r.Decode(&def); err != nil {
			return nil, err
		}
		x, err := d.CreateFramework(r.Context(), r.P, def)
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "GET", Path: "/sdd/template", Summary: "Search frameworks", Tag: tag, Query: sddSearchQuery{},
		Response: Page[frameworkJSON]{}}, func(r *Request) (any, error) {
		var q sddSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		f, err := q.filter()
		if err != nil {
			return nil, err
		}
		list, total, err := d.SearchFrameworks(r.Context(), r.P, f)
		if err != nil {
			return nil, err
		}
		out := Page[frameworkJSON]{Count: total, Hits: make([]frameworkJSON, len(list))}
		for i, x := range list {
			out.Hits[i] = frameworkOf(x)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/sdd/template/global", Summary: "The global framework", Tag: tag,
		Response: frameworkJSON{}}, func(r *Request) (any, error) {
		x, err := d.GlobalFramework(r.Context(), r.P)
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/sdd/template/global", Summary: "Make a framework the global one (custos)", Tag: tag,
		Body: sddGlobalBody{}, Response: frameworkJSON{}}, func(r *Request) (any, error) {
		var b sddGlobalBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		x, err := d.SetGlobalFramework(r.Context(), r.P, b.Template)
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/sdd/template/apply", Summary: "Apply a framework to data sources", Tag: tag,
		Body: sddApplyBody{}, Response: successJSON{}}, func(r *Request) (any, error) {
		var b sddApplyBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		name := ""
		if b.Template != nil {
			name = *b.Template
		}
		if err := d.ApplyFramework(r.Context(), r.P, name, b.Sources); err != nil {
			return nil, err
		}
		return successJSON{Success: true}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/sdd/template/{templateName}", Summary: "A framework", Tag: tag,
		Response: frameworkJSON{}}, func(r *Request) (any, error) {
		x, err := d.GetFramework(r.Context(), r.P, r.Path("templateName"))
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/sdd/template/{templateName}", Summary: "Replace a framework (it may be renamed)",
		Tag: tag, Body: sdd.Framework{}, Response: frameworkJSON{}}, func(r *Request) (any, error) {
		var def sdd.Framework
		if err := r.Decode(&def); err != nil {
			return nil, err
		}
		x, err := d.UpdateFramework(r.Context(), r.P, r.Path("templateName"), def)
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/sdd/template/{templateName}", Summary: "Delete a framework", Tag: tag,
		Response: frameworkJSON{}}, func(r *Request) (any, error) {
		x, err := d.DeleteFramework(r.Context(), r.P, r.Path("templateName"))
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "POST", Path: "/sdd/template/{templateName}/clone", Summary: "Copy a framework under a new name",
		Tag: tag, Body: discovery.CloneInput{}, Response: frameworkJSON{}}, func(r *Request) (any, error) {
		var b discovery.CloneInput
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		x, err := d.CloneFramework(r.Context(), r.P, r.Path("templateName"), b)
		if err != nil {
			return nil, err
		}
		return frameworkOf(x), nil
	})

	s.Handle(Op{Method: "POST", Path: "/sdd/run", Summary: "Run sensitive data discovery on data sources", Tag: tag,
		Body: sddRunBody{}, Response: map[string]discovery.JobState{}}, func(r *Request) (any, error) {
		var b sddRunBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		wait := -1
		if b.Wait != nil {
			wait = *b.Wait
		}
		res, err := d.Run(r.Context(), r.P, discovery.RunInput{Sources: b.Sources, All: b.All, Wait: waitFor(wait),
			DryRun: b.DryRun, Template: b.Template})
		if err != nil {
			return nil, err
		}
		if b.All {
			return sddJobCountJSON{JobCount: res.JobCount}, nil
		}
		return res.Jobs, nil
	})
}

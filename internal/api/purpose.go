package api

import (
	"encoding/json"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/governance"
)

// purposeJSON is a purpose as the V1 governance API shows it.
type purposeJSON struct {
	ID                             int64           `json:"id"`
	Name                           string          `json:"name"`
	Acknowledgement                string          `json:"acknowledgement" doc:"the statement in force: the purpose's own, else its nearest ancestor's, else the default"`
	Description                    *string         `json:"description"`
	AddedByProfile                 *int64          `json:"addedByProfile"`
	AddedBy                        string          `json:"addedBy,omitempty"`
	DisplayAcknowledgement         bool            `json:"displayAcknowledgement"`
	Deleted                        bool            `json:"deleted"`
	SystemGenerated                bool            `json:"systemGenerated"`
	PolicyMetadata                 json.RawMessage `json:"policyMetadata"`
	Staged                         bool            `json:"staged"`
	CreatedAt                      time.Time       `json:"createdAt"`
	UpdatedAt                      time.Time       `json:"updatedAt"`
	Subpurposes                    *[]purposeJSON  `json:"subpurposes,omitempty"`
	ProjectCount                   *int            `json:"projectCount,omitempty"`
	Projects                       *[]int64        `json:"projects,omitempty"`
	KAnonNoiseReduction            *string         `json:"kAnonNoiseReduction"`
	InheritsAcknowledgement        bool            `json:"inheritsAcknowledgement" doc:"custos addition: the purpose has no statement of its own"`
	AcknowledgementVersion         int64           `json:"acknowledgementVersion" doc:"custos addition: grows whenever the statement in force changes"`
	RequiredAcknowledgementVersion int64           `json:"requiredAcknowledgementVersion" doc:"custos addition: the version project members must have acknowledged"`
}

func purposeOf(p *governance.Purpose, detail bool) purposeJSON {
	out := purposeJSON{ID: p.ID, Name: p.Name, Acknowledgement: p.EffectiveAcknowledgement, Description: p.Description,
		AddedByProfile: p.AddedBy, DisplayAcknowledgement: p.DisplayAcknowledgement, Deleted: p.Deleted,
		SystemGenerated: p.SystemGenerated, PolicyMetadata: p.PolicyMetadata, Staged: p.Staged, CreatedAt: p.CreatedAt,
		UpdatedAt: p.UpdatedAt, KAnonNoiseReduction: p.KAnonNoiseReduction, InheritsAcknowledgement: p.Acknowledgement == nil,
		AcknowledgementVersion: p.AcknowledgementVersion, RequiredAcknowledgementVersion: p.RequiredAcknowledgementVersion}
	if len(out.PolicyMetadata) == 0 {
		out.PolicyMetadata = json.RawMessage("null")
		if p.KAnonNoiseReduction != nil {
			out.PolicyMetadata, _ = json.Marshal(map[string]string{"kAnonNoiseReduction": *p.KAnonNoiseReduction})
		}
	}
	if detail {
		out.AddedBy = p.AddedByName
		// fillProjects counts the projects using it, when projects are served.
		zero, none := 0, []int64{}
		out.ProjectCount, out.Projects = &zero, &none
		subs := make([]purposeJSON, len(p.Subpurposes))
		for i, sp := range p.Subpurposes {
			subs[i] = purposeOf(sp, true)
			subs[i].Subpurposes = nil
		}
		out.Subpurposes = &subs
	}
	return out
}

// subpurposeBody is a sub-purpose: a full dotted name, or an object.
type subpurposeBody struct {
	Name                string  `json:"name"`
	Acknowledgement     *string `json:"acknowledgement"`
	Description         *string `json:"description"`
	KAnonNoiseReduction *string `json:"kAnonNoiseReduction"`
}

// UnmarshalJSON accepts a bare name or an object.
func (b *subpurposeBody) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err == nil {
		b.Name = name
		return nil
	}
	type plain subpurposeBody
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return errs.Field("subpurposes", errs.CodeType, "each sub-purpose must be a name or an object with a name")
	}
	*b = subpurposeBody(p)
	return nil
}

// purposeBody is a purpose payload of POST /governance/purpose and POST /api/v2/purpose.
type purposeBody struct {
	Name                   string           `json:"name" required:"true" doc:"the full dotted name, e.g. Parent.Child"`
	Description            *string          `json:"description"`
	Acknowledgement        *string          `json:"acknowledgement" doc:"the statement users agree to; absent: the parent's, else the default"`
	DisplayAcknowledgement *bool            `json:"displayAcknowledgement" doc:"default true"`
	KAnonNoiseReduction    *string          `json:"kAnonNoiseReduction"`
	PolicyMetadata         json.RawMessage  `json:"policyMetadata"`
	Staged                 *bool            `json:"staged"`
	Subpurposes            []subpurposeBody `json:"subpurposes" doc:"full dotted names below this purpose, at any depth, each optionally with its own acknowledgement"`
}

func (b purposeBody) input() governance.PurposeInput {
	in := governance.PurposeInput{Name: b.Name, Description: b.Description, Acknowledgement: b.Acknowledgement,
		DisplayAcknowledgement: b.DisplayAcknowledgement, KAnonNoiseReduction: b.KAnonNoiseReduction,
		PolicyMetadata: b.PolicyMetadata, Staged: b.Staged}
	for _, sp := range b.Subpurposes {
		in.Subpurposes = append(in.Subpurposes, governance.PurposeInput{Name: sp.Name, Description: sp.Description,
			Acknowledgement: sp.Acknowledgement, KAnonNoiseReduction: sp.KAnonNoiseReduction})
	}
	return in
}

type purposeUpdateBody struct {
	Name                   *string         `json:"name"`
	Acknowledgement        *string         `json:"acknowledgement" doc:"an empty string goes back to the inherited statement"`
	Description            *string         `json:"description"`
	DisplayAcknowledgement *bool           `json:"displayAcknowledgement"`
	ReAcknowledge          bool            `json:"reAcknowledge" doc:"members must acknowledge an updated statement again"`
	ApplyToSubpurposes     bool            `json:"applyToSubpurposes" doc:"apply description and acknowledgement to the sub-purposes too"`
	PolicyMetadata         json.RawMessage `json:"policyMetadata"`
}

type purposeSearchQuery struct {
	Paging
	NoLimit          bool   `query:"noLimit" doc:"ignore size"`
	SortField        string `query:"sortField" doc:"name (default), createdAt or updatedAt"`
	SortOrder        string `query:"sortOrder" doc:"asc (default) or desc"`
	SearchText       string `query:"searchText" doc:"part of the purpose name"`
	Root             string `query:"root" doc:"only this purpose and its sub-purposes"`
	StrictSearch     bool   `query:"strictSearch" doc:"searchText must be the whole name"`
	GetAffectedCount bool   `query:"getAffectedCount" doc:"add projectCount to each purpose"`
	IncludeDeleted   bool   `query:"includeDeleted"`
}

type purposeListJSON struct {
	Purposes []purposeJSON `json:"purposes"`
	Count    int           `json:"count"`
}

type purposeGetQuery struct {
	IncludeSubpurposes bool `query:"includeSubpurposes"`
}

type v2PurposeSaveQuery struct {
	DryRun                bool `query:"dryRun" doc:"validate and report; change nothing"`
	ReAcknowledgeRequired bool `query:"reAcknowledgeRequired" doc:"members of projects using a purpose whose statement changed must acknowledge it again"`
}

type v2PurposeSaveJSON struct {
	DryRun    bool   `json:"dryRun"`
	Creating  bool   `json:"creating"`
	Updating  bool   `json:"updating"`
	PurposeID *int64 `json:"purposeId" doc:"null for a dry run that would create"`
}

type v2PurposeDeleteJSON struct {
	DryRun   bool     `json:"dryRun"`
	Deleting []string `json:"deleting"`
}

// v2PurposeJSON is a purpose as its V2 document.
type v2PurposeJSON struct {
	Name                string             `json:"name"`
	Description         *string            `json:"description,omitempty"`
	Acknowledgement     *string            `json:"acknowledgement,omitempty"`
	KAnonNoiseReduction *string            `json:"kAnonNoiseReduction,omitempty"`
	Subpurposes         []v2SubpurposeJSON `json:"subpurposes,omitempty"`
}

type v2SubpurposeJSON struct {
	Name                string  `json:"name"`
	Acknowledgement     *string `json:"acknowledgement,omitempty"`
	Description         *string `json:"description,omitempty"`
	KAnonNoiseReduction *string `json:"kAnonNoiseReduction,omitempty"`
}

func v2PurposeOf(p *governance.Purpose) v2PurposeJSON {
	out := v2PurposeJSON{Name: p.Name, Description: p.Description, Acknowledgement: p.Acknowledgement,
		KAnonNoiseReduction: p.KAnonNoiseReduction}
	for _, sp := range p.Subpurposes {
		out.Subpurposes = append(out.Subpurposes, v2SubpurposeJSON{Name: sp.Name, Acknowledgement: sp.Acknowledgement,
			Description: sp.Description, KAnonNoiseReduction: sp.KAnonNoiseReduction})
	}
	return out
}

func (s *Server) purposeRoutes(gov *governance.Service) {
	const tag = "purposes"
	s.Handle(Op{Method: "POST", Path: "/governance/purpose", Summary: "Create a purpose (and sub-purposes)", Tag: tag,
		Permission: auth.Governance, Body: purposeBody{}, Response: purposeJSON{}}, func(r *Request) (any, error) {
		var b purposeBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		res, err := gov.SavePurpose(r.Context(), r.P, b.input(), false, false, true)
		if err != nil {
			return nil, err
		}
		p, err := gov.PurposeByID(r.Context(), *res.ID, true)
		if err != nil {
			return nil, err
		}
		out := purposeOf(p, true)
		out.ProjectCount, out.Projects, out.AddedBy = nil, nil, ""
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/governance/purpose", Summary: "Search purposes", Tag: tag, Query: purposeSearchQuery{},
		Response: purposeListJSON{}}, func(r *Request) (any, error) {
		var q purposeSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(10000, 100000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "createdAt", "updatedAt"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		f := governance.PurposeFilter{SearchText: q.SearchText, StrictSearch: q.StrictSearch, Root: q.Root,
			IncludeDeleted: q.IncludeDeleted, SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size}
		if q.NoLimit {
			f.Size = 0
		}
		list, total, err := gov.SearchPurposes(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out := purposeListJSON{Purposes: make([]purposeJSON, len(list)), Count: total}
		for i, p := range list {
			out.Purposes[i] = purposeOf(p, false)
			if q.GetAffectedCount {
				if err := s.fillProjects(r, &out.Purposes[i], false); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/governance/purpose/{purposeId}", Summary: "One purpose", Tag: tag,
		IntParams: []string{"purposeId"}, Query: purposeGetQuery{}, Response: purposeJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("purposeId")
		if err != nil {
			return nil, err
		}
		var q purposeGetQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		p, err := gov.PurposeByID(r.Context(), id, q.IncludeSubpurposes)
		if err != nil {
			return nil, err
		}
		out := purposeOf(p, true)
		if err := s.fillProjects(r, &out, true); err != nil {
			return nil, err
		}
		if !q.IncludeSubpurposes {
			out.Subpurposes = nil
		}
		return out, nil
	})

	s.Handle(Op{Method: "PUT", Path: "/governance/purpose/{purposeId}", Summary: "Update a purpose (partial)", Tag: tag,
		Permission: auth.Governance, IntParams: []string{"purposeId"}, Body: purposeUpdateBody{}, Response: purposeJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("purposeId")
			if err != nil {
				return nil, err
			}
			var b purposeUpdateBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			p, err := gov.UpdatePurpose(r.Context(), r.P, id, governance.PurposePatch{Name: b.Name, Description: b.Description,
				Acknowledgement: b.Acknowledgement, DisplayAcknowledgement: b.DisplayAcknowledgement,
				PolicyMetadata: b.PolicyMetadata, ReAcknowledge: b.ReAcknowledge, ApplyToSubpurposes: b.ApplyToSubpurposes})
			if err != nil {
				return nil, err
			}
			return purposeOf(p, false), nil
		})

	s.Handle(Op{Method: "DELETE", Path: "/governance/purpose/{purposeId}", Summary: "Delete a purpose and its sub-purposes; answers them",
		Tag: tag, Permission: auth.Governance, IntParams: []string{"purposeId"}, Response: []purposeJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("purposeId")
			if err != nil {
				return nil, err
			}
			list, err := gov.DeletePurposes(r.Context(), r.P, id, "", false)
			if err != nil {
				return nil, err
			}
			out := make([]purposeJSON, len(list))
			for i, p := range list {
				out[i] = purposeOf(p, false)
			}
			return out, nil
		})

	const v2 = "purposes (V2)"
	s.Handle(Op{Method: "POST", Path: "/api/v2/purpose", Summary: "Create or update a purpose from its V2 document (keyed by name)",
		Tag: v2, Permission: auth.Governance, Query: v2PurposeSaveQuery{}, Body: purposeBody{}, Response: v2PurposeSaveJSON{}},
		func(r *Request) (any, error) {
			var q v2PurposeSaveQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			var b purposeBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			res, err := gov.SavePurpose(r.Context(), r.P, b.input(), q.DryRun, q.ReAcknowledgeRequired, false)
			if err != nil {
				return nil, err
			}
			return v2PurposeSaveJSON{DryRun: res.DryRun, Creating: res.Creating, Updating: res.Updating, PurposeID: res.ID}, nil
		})

	s.Handle(Op{Method: "GET", Path: "/api/v2/purpose", Summary: "Every purpose as its V2 document, sorted by full name",
		Tag: v2, Response: []v2PurposeJSON{}}, func(r *Request) (any, error) {
		list, err := gov.Purposes(r.Context())
		if err != nil {
			return nil, err
		}
		out := make([]v2PurposeJSON, len(list))
		for i, p := range list {
			out[i] = v2PurposeOf(p)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/api/v2/purpose/{name}", Summary: "One purpose as its V2 document, with its sub-purposes",
		Tag: v2, Response: v2PurposeJSON{}}, func(r *Request) (any, error) {
		p, err := gov.PurposeByName(r.Context(), r.Path("name"))
		if err != nil {
			return nil, err
		}
		return v2PurposeOf(p), nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/api/v2/purpose/{name}", Summary: "Delete a purpose and its sub-purposes by name",
		Tag: v2, Permission: auth.Governance, Query: dryRunQuery{}, Response: v2PurposeDeleteJSON{}}, func(r *Request) (any, error) {
		var q dryRunQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		list, err := gov.DeletePurposes(r.Context(), r.P, 0, r.Path("name"), q.DryRun)
		if err != nil {
			return nil, err
		}
		out := v2PurposeDeleteJSON{DryRun: q.DryRun, Deleting: []string{}}
		for _, p := range list {
			out.Deleting = append(out.Deleting, p.Name)
		}
		return out, nil
	})
}

// fillProjects sets the projects using a purpose (and with ids, which).
func (s *Server) fillProjects(r *Request, out *purposeJSON, ids bool) error {
	if s.purposeProjects == nil {
		zero := 0
		out.ProjectCount = &zero
		return nil
	}
	using, err := s.purposeProjects(r.Context(), []int64{out.ID})
	if err != nil {
		return err
	}
	list := append([]int64{}, using[out.ID]...)
	n := len(list)
	out.ProjectCount = &n
	if ids {
		out.Projects = &list
	}
	return nil
}

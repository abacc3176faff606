package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/policy"
)

// GovernanceRoutes serves global and local policies, purposes, data source
// access and the decision endpoints.
func (s *Server) GovernanceRoutes(gov *governance.Service, acc *access.Service) {
	s.policySummaries = gov.PolicySummaries
	s.policyRoutes(gov)
	s.policyV2Routes(gov)
	s.purposeRoutes(gov)
	s.accessRoutes(acc)
	s.decisionRoutes(gov)
}

// v2SaveJSON is the answer of POST /api/v2/policy.
type v2SaveJSON struct {
	DryRun   bool   `json:"dryRun"`
	Creating bool   `json:"creating"`
	Updating bool   `json:"updating"`
	PolicyID *int64 `json:"policyId" doc:"null for a dry run that would create"`
}

type v2PolicySaveQuery struct {
	DryRun    bool `query:"dryRun" doc:"validate and report; change nothing"`
	ReCertify bool `query:"reCertify" doc:"when the certification changed, require it again on every data source the policy applies to"`
}

type dryRunQuery struct {
	DryRun bool `query:"dryRun" doc:"report what would be deleted; delete nothing"`
}

type v2PolicyDeleteJSON struct {
	DryRun   bool   `json:"dryRun"`
	Deleting string `json:"deleting"`
}

type policyRenameBody struct {
	NewPolicyKey string `json:"newPolicyKey" required:"true"`
}

type policyRenameJSON struct {
	OldPolicyKey string `json:"oldPolicyKey"`
	NewPolicyKey string `json:"newPolicyKey"`
}

func (s *Server) policyV2Routes(gov *governance.Service) {
	const tag = "policies (V2)"
	s.Handle(Op{Method: "POST", Path: "/api/v2/policy", Summary: "Create or update a global policy from its V2 document (keyed by policyKey)",
		Tag: tag, Permission: auth.Governance, Query: v2PolicySaveQuery{}, Body: policy.Policy{}, Response: v2SaveJSON{}},
		func(r *Request) (any, error) {
			var q v2PolicySaveQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			body, err := r.RawBody()
			if err != nil {
				return nil, err
			}
			res, err := gov.SavePolicyV2(r.Context(), r.P, body, q.DryRun, q.ReCertify)
			if err != nil {
				return nil, err
			}
			return v2SaveJSON{DryRun: res.DryRun, Creating: res.Creating, Updating: res.Updating, PolicyID: res.ID}, nil
		})

	s.Handle(Op{Method: "GET", Path: "/api/v2/policy", Summary: "Every global policy as its V2 document, sorted by policyKey",
		Tag: tag, Response: []policy.Policy{}}, func(r *Request) (any, error) {
		views, err := gov.Policies(r.Context())
		if err != nil {
			return nil, err
		}
		out := make([]*policy.Policy, len(views))
		for i, v := range views {
			out[i] = v.Policy
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/api/v2/policy/{policyKey}", Summary: "One global policy as its V2 document",
		Tag: tag, Response: policy.Policy{}}, func(r *Request) (any, error) {
		v, err := gov.PolicyByKey(r.Context(), r.Path("policyKey"))
		if err != nil {
			return nil, err
		}
		return v.Policy, nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/api/v2/policy/{policyKey}", Summary: "Delete a global policy by policyKey",
		Tag: tag, Permission: auth.Governance, Query: dryRunQuery{}, Response: v2PolicyDeleteJSON{}}, func(r *Request) (any, error) {
		var q dryRunQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		key := r.Path("policyKey")
		if err := gov.DeletePolicyByKey(r.Context(), r.P, key, q.DryRun); err != nil {
			return nil, err
		}
		return v2PolicyDeleteJSON{DryRun: q.DryRun, Deleting: key}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/api/v2/policy/{policyKey}/rename", Summary: "Change a global policy's key",
		Tag: tag, Permission: auth.Governance, Body: policyRenameBody{}, Response: policyRenameJSON{}}, func(r *Request) (any, error) {
		var b policyRenameBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		old := r.Path("policyKey")
		if err := gov.RenamePolicy(r.Context(), r.P, old, b.NewPolicyKey); err != nil {
			return nil, err
		}
		return policyRenameJSON{OldPolicyKey: old, NewPolicyKey: b.NewPolicyKey}, nil
	})
}

type globalListQuery struct {
	Paging
	SortField  string `query:"sortField" doc:"name or createdAt (default)"`
	SortOrder  string `query:"sortOrder" doc:"asc or desc (default)"`
	SearchText string `query:"searchText" doc:"part of the policy name"`
	Type       string `query:"type" doc:"data or subscription"`
	Scope      string `query:"scope" doc:"global (default) or local; local policies are not global policies, so local lists none"`
	NameOnly   bool   `query:"nameOnly" doc:"answer [{name, id, type}] instead of whole policies"`
	Templates  *bool  `query:"templates" doc:"true: templates only; false: no templates; absent: both"`
	// IgnoreStaged is in the 2023 Swagger of this endpoint.
	IgnoreStaged bool `query:"ignoreStaged" doc:"leave staged policies out"`
}

type policyNameJSON struct {
	Name string            `json:"name"`
	ID   int64             `json:"id"`
	Type policy.PolicyType `json:"type"`
}

type appliedToJSON struct {
	Count         int     `json:"count"`
	DataSourceIDs []int64 `json:"dataSourceIds" doc:"custos addition: which data sources"`
}

type applyPolicyBody struct {
	PolicyID     *int64 `json:"policyId" required:"true"`
	DataSourceID *int64 `json:"dataSourceId" required:"true"`
	Merged       bool   `json:"merged"`
}

type searchQuery struct {
	Paging
	Type             string  `query:"type" doc:"data or subscription"`
	Scope            string  `query:"scope" doc:"global or local; absent: both"`
	SortField        string  `query:"sortField" doc:"name (default), createdBy, createdAt, state, isNotApplied, scope"`
	SortOrder        string  `query:"sortOrder" doc:"asc (default) or desc"`
	SearchText       string  `query:"searchText" doc:"part of the policy (or data source) name"`
	CountOnly        bool    `query:"countOnly" doc:"answer only {count}"`
	Mode             string  `query:"mode" doc:"similarPolicies, impactedUsers or impactedDataSources: about the policy in the body (V1 or V2, or {policyId})"`
	ExcludedPolicies []int64 `query:"excludedPolicies" doc:"global policy ids to leave out"`
}

type dataSourcePoliciesQuery struct {
	RetrieveAll   *bool `query:"retrieveAll" doc:"false leaves custom WHERE rules out; default true"`
	ExcludeGlobal bool  `query:"excludeGlobal" doc:"leave out what global policies apply"`
}

type diffQuery struct {
	PreviousHandlerID *int64 `query:"previousHandlerId" doc:"default: the version before the current one"`
	CurrentHandlerID  *int64 `query:"currentHandlerId" doc:"default: the newest version"`
}

type diffJSON struct {
	Current    json.RawMessage `json:"current"`
	Previous   json.RawMessage `json:"previous"`
	HasChanges bool            `json:"hasChanges"`
}

type handlerJSON struct {
	ID           *int64          `json:"id" doc:"the version; null when the data source has no policy of its own"`
	DataSourceID int64           `json:"dataSourceId"`
	CreatedBy    *int64          `json:"createdBy"`
	CA           []string        `json:"ca" doc:"always empty: custos needs no certificate to read handlers"`
	Rules        *string         `json:"rules,omitempty" doc:"the data source's plan, one rule a line (GET only)"`
	JSONPolicies json.RawMessage `json:"jsonPolicies"`
	CreatedAt    *time.Time      `json:"createdAt"`
	UpdatedAt    *time.Time      `json:"updatedAt"`
}

func handlerOf(h *governance.HandlerView) handlerJSON {
	out := handlerJSON{DataSourceID: h.DataSourceID, CreatedBy: h.CreatedBy, CA: []string{}, JSONPolicies: h.JSONPolicies}
	if h.ID != 0 {
		id, at := h.ID, h.CreatedAt
		out.ID, out.CreatedAt, out.UpdatedAt = &id, &at, &at
	}
	return out
}

type localPolicyBody struct {
	JSONPolicies []any `json:"jsonPolicies" required:"true" doc:"V1 policy entries; entries with a global object are ignored"`
}

type handlerRulesBody struct {
	DataSourceID  int64 `json:"dataSourceId" required:"true"`
	JSONRules     []any `json:"jsonRules" required:"true" doc:"prerequisite, visibility, masking and additional rule objects"`
	PolicyHandler any   `json:"policyHandler" doc:"maskingConfiguration and additionalFilters the rules leave to the data source"`
}

func (s *Server) policyRoutes(gov *governance.Service) {
	const tag = "policies (V1)"
	s.Handle(Op{Method: "POST", Path: "/policy/global", Summary: "Create a global policy (V1 object)", Tag: tag,
		Permission: auth.Governance, Body: policy.V1Policy{}, Response: policy.V1Policy{}}, func(r *Request) (any, error) {
		body, err := r.RawBody()
		if err != nil {
			return nil, err
		}
		v, err := gov.CreatePolicyV1(r.Context(), r.P, body)
		if err != nil {
			return nil, err
		}
		return v.V1(), nil
	})

	s.Handle(Op{Method: "GET", Path: "/policy/global", Summary: "List global policies", Tag: tag, Query: globalListQuery{},
		Response: []policy.V1Policy{}}, func(r *Request) (any, error) {
		var q globalListQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(10000, 10000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "createdAt"); err != nil {
			return nil, err
		}
		if err := OneOf("type", q.Type, "data", "subscription"); err != nil {
			return nil, err
		}
		if err := OneOf("scope", q.Scope, "global", "local"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, true)
		if err != nil {
			return nil, err
		}
		var views []*governance.PolicyView
		if q.Scope != "local" {
			views, _, err = gov.ListPolicies(r.Context(), governance.PolicyFilter{SearchText: q.SearchText, Type: q.Type,
				Templates: q.Templates, IgnoreStaged: q.IgnoreStaged, SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size})
			if err != nil {
				return nil, err
			}
		}
		if q.NameOnly {
			out := make([]policyNameJSON, len(views))
			for i, v := range views {
				out[i] = policyNameJSON{Name: v.Policy.Name, ID: v.ID, Type: v.Policy.Type}
			}
			return out, nil
		}
		hits := make([]*policy.V1Policy, len(views))
		for i, v := range views {
			hits[i] = v.V1()
		}
		return hits, nil
	})

	s.Handle(Op{Method: "GET", Path: "/policy/global/{policyId}", Summary: "One global policy (V1 object)", Tag: tag,
		IntParams: []string{"policyId"}, Response: policy.V1Policy{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("policyId")
		if err != nil {
			return nil, err
		}
		v, err := gov.Policy(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return v.V1(), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/policy/global/{policyId}", Summary: "Replace a global policy (V1 object)", Tag: tag,
		Permission: auth.Governance, IntParams: []string{"policyId"}, Body: policy.V1Policy{}, Response: policy.V1Policy{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("policyId")
			if err != nil {
				return nil, err
			}
			body, err := r.RawBody()
			if err != nil {
				return nil, err
			}
			v, err := gov.UpdatePolicyV1(r.Context(), r.P, id, body)
			if err != nil {
				return nil, err
			}
			return v.V1(), nil
		})

	s.Handle(Op{Method: "DELETE", Path: "/policy/global/{policyId}", Summary: "Delete a global policy; answers it as it was",
		Tag: tag, Permission: auth.Governance, IntParams: []string{"policyId"}, Response: policy.V1Policy{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("policyId")
			if err != nil {
				return nil, err
			}
			v, err := gov.DeletePolicy(r.Context(), r.P, id)
			if err != nil {
				return nil, err
			}
			return v.V1(), nil
		})

	s.Handle(Op{Method: "GET", Path: "/policy/global/appliedTo/{policyId}", Summary: "How many data sources a global policy applies to",
		Tag: tag, IntParams: []string{"policyId"}, Response: appliedToJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("policyId")
		if err != nil {
			return nil, err
		}
		ids, err := gov.AppliedTo(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return appliedToJSON{Count: len(ids), DataSourceIDs: nonNil(ids)}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/policy/global/applyPolicy", Summary: "Apply a global policy whose circumstances are null to a data source (owners)",
		Tag: tag, Body: applyPolicyBody{}}, func(r *Request) (any, error) {
		body, err := r.RawBody()
		if err != nil {
			return nil, err
		}
		var list []applyPolicyBody
		trimmed := strings.TrimSpace(string(body))
		if strings.HasPrefix(trimmed, "[") {
			err = DecodeBody(r.Header.Get("Content-Type"), body, &list)
		} else {
			var one applyPolicyBody
			err = DecodeBody(r.Header.Get("Content-Type"), body, &one)
			list = []applyPolicyBody{one}
		}
		if err != nil {
			return nil, err
		}
		var l errs.List
		for i, b := range list {
			prefix := ""
			if len(list) > 1 || strings.HasPrefix(trimmed, "[") {
				prefix = "[" + strconv.Itoa(i) + "]."
			}
			if b.PolicyID == nil {
				l.Add(prefix+"policyId", errs.CodeRequired, "%spolicyId is required", prefix)
			}
			if b.DataSourceID == nil {
				l.Add(prefix+"dataSourceId", errs.CodeRequired, "%sdataSourceId is required", prefix)
			}
		}
		if err := l.Err(); err != nil {
			return nil, err
		}
		for _, b := range list {
			if err := gov.ApplyPolicy(r.Context(), r.P, *b.PolicyID, *b.DataSourceID, b.Merged); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})

	s.Handle(Op{Method: "POST", Path: "/policy/search", Summary: "Search policies, or find what a policy would affect (mode)",
		Tag: tag, NoAudit: true, Query: searchQuery{}, Body: governance.Facets{}, Response: Page[governance.SearchHit]{}},
		func(r *Request) (any, error) {
			var q searchQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			if err := q.Paging.Check(10000, 10000); err != nil {
				return nil, err
			}
			if err := OneOf("type", q.Type, "data", "subscription"); err != nil {
				return nil, err
			}
			if err := OneOf("scope", q.Scope, "global", "local"); err != nil {
				return nil, err
			}
			if err := OneOf("sortField", q.SortField, "name", "createdBy", "createdAt", "state", "isNotApplied", "scope"); err != nil {
				return nil, err
			}
			if err := OneOf("mode", q.Mode, governance.ModeSimilarPolicies, governance.ModeImpactedUsers, governance.ModeImpactedDataSources); err != nil {
				return nil, err
			}
			desc, err := SortOrder(q.SortOrder, false)
			if err != nil {
				return nil, err
			}
			body, err := r.RawBody()
			if err != nil {
				return nil, err
			}
			sq := governance.SearchQuery{Type: q.Type, Scope: q.Scope, SearchText: q.SearchText, SortField: q.SortField,
				Descending: desc, Offset: q.Offset, Size: q.Size, Mode: q.Mode, Excluded: q.ExcludedPolicies}
			hasBody := strings.TrimSpace(string(body)) != ""
			switch {
			case q.Mode == "":
				if sq.Facets, err = governance.ParseFacets(body); err != nil {
					return nil, err
				}
			case hasBody:
				if sq.PolicyID = governance.PolicyReference(body); sq.PolicyID == nil {
					if sq.Policy, err = governance.DecodeAnyPolicy(body); err != nil {
						return nil, err
					}
				}
			}
			hits, count, err := gov.Search(r.Context(), sq)
			if err != nil {
				return nil, err
			}
			if q.CountOnly {
				return map[string]int{"count": count}, nil
			}
			return map[string]any{"count": count, "hits": hits}, nil
		})

	s.Handle(Op{Method: "GET", Path: "/policy/dataSourcePolicies/{dataSourceId}", Summary: "The policies in force on a data source, as jsonPolicies entries",
		Tag: tag, IntParams: []string{"dataSourceId"}, Query: dataSourcePoliciesQuery{}, Response: []map[string]any{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			var q dataSourcePoliciesQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			return gov.DataSourcePolicies(r.Context(), id, q.RetrieveAll == nil || *q.RetrieveAll, q.ExcludeGlobal)
		})

	s.Handle(Op{Method: "GET", Path: "/policy/diff/{dataSourceId}", Summary: "Compare two versions of a data source's own policy",
		Tag: tag, IntParams: []string{"dataSourceId"}, Query: diffQuery{}, Response: diffJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		var q diffQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		d, err := gov.Diff(r.Context(), id, q.PreviousHandlerID, q.CurrentHandlerID)
		if err != nil {
			return nil, err
		}
		return diffJSON{Current: d.Current, Previous: d.Previous, HasChanges: d.HasChanges}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/policy/handler/{dataSourceId}", Summary: "A data source's own policy (newest version), the global rules in force, and its plan",
		Tag: tag, IntParams: []string{"dataSourceId"}, Response: handlerJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		if err := gov.Sync(r.Context()); err != nil {
			return nil, err
		}
		h, err := gov.LocalPolicy(r.Context(), id)
		if err != nil {
			return nil, err
		}
		out := handlerOf(h)
		// The rules global policies apply are listed too, each with its
		// global object, as the reference shows them.
		entries, err := gov.DataSourcePolicies(r.Context(), id, true, false)
		if err != nil {
			return nil, err
		}
		if out.JSONPolicies, err = json.Marshal(entries); err != nil {
			return nil, err
		}
		rules := gov.Rules(id)
		out.Rules = &rules
		return out, nil
	})

	for _, method := range []string{"POST", "PUT"} {
		s.Handle(Op{Method: method, Path: "/policy/handler/{dataSourceId}", Summary: "Save a data source's own policy from jsonPolicies (a new version)",
			Tag: tag, IntParams: []string{"dataSourceId"}, Body: localPolicyBody{}, Response: handlerJSON{}},
			func(r *Request) (any, error) {
				id, err := r.PathInt("dataSourceId")
				if err != nil {
					return nil, err
				}
				body, err := r.RawBody()
				if err != nil {
					return nil, err
				}
				h, err := gov.SaveLocalPolicy(r.Context(), r.P, id, body)
				if err != nil {
					return nil, err
				}
				return handlerOf(h), nil
			})
		s.Handle(Op{Method: method, Path: "/policy/handler", Summary: "Save a data source's own policy from policy handler rule objects (a new version)",
			Tag: tag, Body: handlerRulesBody{}, Response: handlerJSON{}}, func(r *Request) (any, error) {
			body, err := r.RawBody()
			if err != nil {
				return nil, err
			}
			h, err := gov.SaveHandlerRules(r.Context(), r.P, body)
			if err != nil {
				return nil, err
			}
			return handlerOf(h), nil
		})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package api

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/projects"
	"github.com/custosdata/custos/internal/requests"
)

// ProjectRoutes serves projects (V1 and V2), their members and data
// sources, the current project, access requests (/subscription), data
// source subscriptions and the activity feed.
func (s *Server) ProjectRoutes(prj *projects.Service, req *requests.Service, acc *access.Service) {
	s.purposeProjects = prj.ProjectsUsing
	s.projectRoutes(prj)
	s.projectMemberRoutes(prj)
	s.projectV2Routes(prj)
	s.subscriptionRoutes(req, prj)
	s.dataSourceSubscriptionRoutes(acc, prj)
	s.activityRoutes()
}

// projectPurposeJSON is a purpose as a project shows it.
type projectPurposeJSON struct {
	ID                     int64           `json:"id"`
	Name                   string          `json:"name"`
	Acknowledgement        *string         `json:"acknowledgement" doc:"the purpose's own statement; null when it inherits one"`
	Description            *string         `json:"description"`
	AddedByProfile         *int64          `json:"addedByProfile"`
	DisplayAcknowledgement bool            `json:"displayAcknowledgement"`
	Deleted                bool            `json:"deleted"`
	SystemGenerated        bool            `json:"systemGenerated"`
	PolicyMetadata         json.RawMessage `json:"policyMetadata"`
	CreatedAt              time.Time       `json:"createdAt"`
	UpdatedAt              time.Time       `json:"updatedAt"`
	CreatedBy              *int64          `json:"createdBy"`
}

func projectPurposeOf(p *projects.Purpose) projectPurposeJSON {
	out := projectPurposeJSON{ID: p.ID, Name: p.Name, Acknowledgement: p.Acknowledgement, Description: p.Description,
		AddedByProfile: p.AddedBy, DisplayAcknowledgement: p.DisplayAcknowledgement, Deleted: p.Deleted,
		SystemGenerated: p.SystemGenerated, PolicyMetadata: p.PolicyMetadata, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		CreatedBy: p.AddedBy}
	if len(out.PolicyMetadata) == 0 {
		out.PolicyMetadata = json.RawMessage("null")
	}
	return out
}

type tagRefJSON struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// equalizationJSON is a project's equalization: the conditions its members
// are limited to, in the V1 conditions shape.
type equalizationJSON struct {
	Conditions conditionsJSON      `json:"conditions" doc:"the equalized entitlements (operator and)"`
	Groups     []string            `json:"groups"`
	Attributes map[string][]string `json:"attributes"`
	CreatedAt  *time.Time          `json:"createdAt" doc:"when equalization was set"`
}

type conditionsJSON struct {
	Operator   string           `json:"operator"`
	Conditions []map[string]any `json:"conditions"`
}

func equalizationOf(p *projects.Project) *equalizationJSON {
	if !p.Equalized {
		return nil
	}
	e := projects.Entitlements{}
	if p.Equalization != nil {
		e = *p.Equalization
	}
	out := &equalizationJSON{Conditions: conditionsJSON{Operator: "and", Conditions: []map[string]any{}},
		Groups: nonNil(e.Groups), Attributes: e.Attributes, CreatedAt: p.EqualizedAt}
	if out.Attributes == nil {
		out.Attributes = map[string][]string{}
	}
	for _, g := range e.Groups {
		out.Conditions.Conditions = append(out.Conditions.Conditions, map[string]any{"type": "groups", "group": map[string]any{"name": g}})
	}
	for _, n := range sortedNames(e.Attributes) {
		for _, v := range e.Attributes[n] {
			out.Conditions.Conditions = append(out.Conditions.Conditions,
				map[string]any{"type": "authorizations", "authorization": map[string]any{"auth": n, "value": v}})
		}
	}
	return out
}

func sortedNames(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// projectJSON is the V1 project object.
type projectJSON struct {
	ID                 int64                `json:"id"`
	ProjectKey         string               `json:"projectKey"`
	Name               string               `json:"name"`
	Status             string               `json:"status" doc:"open or closed"`
	Description        *string              `json:"description"`
	Documentation      *string              `json:"documentation"`
	Deleted            bool                 `json:"deleted" doc:"the project is disabled"`
	AllowMaskedJoins   bool                 `json:"allowMaskedJoins"`
	SubscriptionType   string               `json:"subscriptionType" doc:"automatic, approval, policy or manual"`
	SubscriptionPolicy map[string]any       `json:"subscriptionPolicy"`
	Equalization       *equalizationJSON    `json:"equalization"`
	Workspace          any                  `json:"workspace" doc:"always null: custos has no project workspaces"`
	Snowflake          any                  `json:"snowflake" doc:"always null"`
	Type               *string              `json:"type"`
	Schema             *string              `json:"schema"`
	CreatedBy          *int64               `json:"createdBy"`
	UpdatedBy          *int64               `json:"updatedBy"`
	CreatedAt          time.Time            `json:"createdAt"`
	UpdatedAt          time.Time            `json:"updatedAt"`
	SchemaEvolutionID  *int64               `json:"schemaEvolutionId"`
	Purposes           []projectPurposeJSON `json:"purposes"`
	StagedPurposes     []projectPurposeJSON `json:"stagedPurposes"`
	Tags               []tagRefJSON         `json:"tags"`
	DataSources        []int64              `json:"dataSources" doc:"custos addition: the ids of the project's data sources"`
	IsEqualized        bool                 `json:"isEqualized"`
	PurposeCount       int                  `json:"purposeCount"`
	HasDeletedPurposes bool                 `json:"hasDeletedPurposes"`
	FilterID           int64                `json:"filterId"`
	// The caller's membership.
	SubscribedAsUser       bool       `json:"subscribedAsUser"`
	SubscriptionID         *int64     `json:"subscriptionId"`
	AcknowledgeRequired    bool       `json:"acknowledgeRequired"`
	SubscriptionStatus     string     `json:"subscriptionStatus" doc:"owner, expert, subscribed, pending, denied or not_subscribed"`
	RequestedState         *string    `json:"requestedState"`
	Approved               bool       `json:"approved"`
	SubscriptionExpiration *time.Time `json:"subscriptionExpiration"`
	WorkspaceWarnings      *[]string  `json:"workspaceWarnings,omitempty" doc:"create and update: always empty"`
}

func projectOf(v *projects.View) projectJSON {
	out := projectJSON{ID: v.ID, ProjectKey: v.Key, Name: v.Name, Status: v.Status, Description: v.Description,
		Documentation: v.Documentation, Deleted: v.Deleted, AllowMaskedJoins: v.AllowMaskedJoins,
		SubscriptionType: v.Policy.V1Type(), SubscriptionPolicy: v.Policy.V1Object(), Equalization: equalizationOf(v.Project),
		CreatedBy: v.CreatedBy, UpdatedBy: v.UpdatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		Purposes: []projectPurposeJSON{}, StagedPurposes: []projectPurposeJSON{}, Tags: []tagRefJSON{}, DataSources: []int64{},
		IsEqualized: v.Equalized, HasDeletedPurposes: v.HasDeletedPurposes(), FilterID: v.ID,
		SubscriptionStatus: v.Membership}
	for _, p := range v.Purposes {
		if p.Staged {
			out.StagedPurposes = append(out.StagedPurposes, projectPurposeOf(p))
		} else {
			out.Purposes = append(out.Purposes, projectPurposeOf(p))
		}
	}
	out.PurposeCount = len(out.Purposes)
	for _, t := range v.Tags {
		out.Tags = append(out.Tags, tagRefJSON{Name: t, Source: "curated"})
	}
	for _, d := range v.DataSources {
		out.DataSources = append(out.DataSources, d.DataSourceID)
	}
	if m := v.Mine; m != nil {
		id, st := m.ID, m.State
		out.SubscriptionID, out.RequestedState, out.SubscriptionExpiration = &id, &st, m.Expiration
		out.SubscribedAsUser = m.ModelType == "user"
	}
	switch v.Membership {
	case "owner", "expert", "subscribed":
		out.Approved = true
	}
	out.AcknowledgeRequired = v.AcknowledgeRequired
	return out
}

// projectBody is the V1 project payload (create and update).
type projectBody struct {
	ID                 *int64          `json:"id" doc:"ignored: custos numbers projects"`
	ProjectKey         *string         `json:"projectKey" doc:"defaults to the name in lower case"`
	Name               *string         `json:"name"`
	Status             *string         `json:"status" doc:"open (default) or closed"`
	Description        *string         `json:"description"`
	Documentation      *string         `json:"documentation" doc:"Markdown; defaults to \"# <name>\""`
	Tags               json.RawMessage `json:"tags" doc:"tag names, or objects with a name"`
	Purposes           json.RawMessage `json:"purposes" doc:"the live purposes: ids, names, or objects with an id or a name; from a caller without GOVERNANCE, purposes not live already are staged for approval"`
	StagedPurposes     json.RawMessage `json:"stagedPurposes" doc:"purposes waiting for a governor's approval, as purposes; from a caller without GOVERNANCE the same as listing them in purposes"`
	Deleted            *bool           `json:"deleted" doc:"true disables the project; false restores it"`
	Snowflake          json.RawMessage `json:"snowflake" doc:"refused unless null: custos has no project workspaces"`
	AllowMaskedJoins   *bool           `json:"allowMaskedJoins"`
	SubscriptionType   *string         `json:"subscriptionType" doc:"automatic, approval, policy or manual"`
	SubscriptionPolicy json.RawMessage `json:"subscriptionPolicy" doc:"the V1 subscription policy object; null: manual"`
	Equalization       json.RawMessage `json:"equalization" doc:"null or false: off; true or {}: on, limited to what members share now; {conditions: {operator: and, conditions: [...]}}: on, limited to those; {setNone: true}: on, limited to nothing"`
	Workspace          json.RawMessage `json:"workspace" doc:"refused unless null: custos has no project workspaces"`
	DataSources        json.RawMessage `json:"dataSources" doc:"data source ids (or names)"`
	Type               *string         `json:"type"`
	CreatedAt          *string         `json:"createdAt" doc:"ignored"`
	UpdatedAt          *string         `json:"updatedAt" doc:"ignored"`
}

func present(raw json.RawMessage) bool { return len(raw) > 0 }

func isNull(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }

// input turns the body into the service's input; update leaves absent
// fields alone.
func (b *projectBody) input() (projects.Input, error) {
	var l errs.List
	in := projects.Input{Key: b.ProjectKey, Name: b.Name, Status: b.Status, Description: b.Description,
		Documentation: b.Documentation, AllowMaskedJoins: b.AllowMaskedJoins, Deleted: b.Deleted,
		PurposesField: "purposes", StagedPurposesField: "stagedPurposes", DataSourcesField: "dataSources"}
	for field, raw := range map[string]json.RawMessage{"workspace": b.Workspace, "snowflake": b.Snowflake} {
		if present(raw) && !isNull(raw) {
			l.Add(field, errs.CodeInvalid, "%s: custos has no project workspaces; leave %s out or null", field, field)
		}
	}
	if b.Type != nil && *b.Type != "" && !strings.EqualFold(*b.Type, "user") {
		l.Add("type", errs.CodeEnum, "type must be user: custos creates no schema projects")
	}
	if b.SubscriptionType != nil || present(b.SubscriptionPolicy) {
		t := ""
		if b.SubscriptionType != nil {
			t = *b.SubscriptionType
		}
		sp, err := projects.ParseV1Policy(t, b.SubscriptionPolicy)
		if err != nil {
			return in, err
		}
		in.SetPolicy, in.Policy = true, sp
	}
	if present(b.Purposes) {
		refs, err := refsOf(b.Purposes, "purposes")
		if err != nil {
			return in, err
		}
		in.Purposes = &refs
	}
	if present(b.StagedPurposes) {
		refs, err := refsOf(b.StagedPurposes, "stagedPurposes")
		if err != nil {
			return in, err
		}
		in.StagedPurposes = &refs
	}
	if present(b.DataSources) {
		refs, err := refsOf(b.DataSources, "dataSources")
		if err != nil {
			return in, err
		}
		in.DataSources = &refs
	}
	if present(b.Tags) {
		names, err := tagNamesOf(b.Tags)
		if err != nil {
			return in, err
		}
		in.Tags = &names
	}
	if present(b.Equalization) {
		eq, err := equalizationInput(b.Equalization)
		if err != nil {
			return in, err
		}
		in.Equalization = eq
	}
	return in, l.Err()
}

// refsOf reads a list of ids, names, or objects with an id or a name.
func refsOf(raw json.RawMessage, field string) ([]projects.Ref, error) {
	if isNull(raw) {
		return []projects.Ref{}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errs.Field(field, errs.CodeType, "%s must be an array", field)
	}
	out := make([]projects.Ref, 0, len(items))
	for i, it := range items {
		var id int64
		var name string
		var obj struct {
			ID   *int64  `json:"id"`
			Name *string `json:"name"`
		}
		switch {
		case json.Unmarshal(it, &id) == nil:
			out = append(out, projects.Ref{ID: id})
		case json.Unmarshal(it, &name) == nil && strings.TrimSpace(name) != "":
			out = append(out, projects.Ref{Name: strings.TrimSpace(name)})
		case json.Unmarshal(it, &obj) == nil && obj.ID != nil:
			out = append(out, projects.Ref{ID: *obj.ID})
		case json.Unmarshal(it, &obj) == nil && obj.Name != nil:
			out = append(out, projects.Ref{Name: *obj.Name})
		default:
			f := field + "[" + strconv.Itoa(i) + "]"
			return nil, errs.Field(f, errs.CodeType, "%s must be an id, a name, or an object with an id or a name", f)
		}
	}
	return out, nil
}

// tagNamesOf reads tag names or objects with a name.
func tagNamesOf(raw json.RawMessage) ([]string, error) {
	refs, err := refsOf(raw, "tags")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(refs))
	for i, r := range refs {
		if r.Name == "" {
			return nil, errs.Field("tags["+strconv.Itoa(i)+"]", errs.CodeType, "tags[%d] must be a tag name", i)
		}
		out = append(out, r.Name)
	}
	return out, nil
}

// equalizationInput reads a V1 equalization value (see projectBody).
func equalizationInput(raw json.RawMessage) (*projects.EqualizationInput, error) {
	if isNull(raw) {
		return &projects.EqualizationInput{}, nil
	}
	var on bool
	if err := json.Unmarshal(raw, &on); err == nil {
		return &projects.EqualizationInput{On: on}, nil
	}
	var obj struct {
		SetNone               bool                `json:"setNone"`
		Conditions            json.RawMessage     `json:"conditions"`
		Recommended           json.RawMessage     `json:"recommended"`
		AuthsForPolicyHandler json.RawMessage     `json:"authsForPolicyHandler"`
		Groups                []string            `json:"groups"`
		Attributes            map[string][]string `json:"attributes"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errs.Field("equalization", errs.CodeType, "equalization must be null, a boolean or an object")
	}
	in := &projects.EqualizationInput{On: true}
	switch {
	case obj.SetNone:
		in.Set = &projects.Entitlements{}
	case obj.Groups != nil || obj.Attributes != nil:
		in.Set = &projects.Entitlements{Groups: obj.Groups, Attributes: obj.Attributes}
	default:
		for field, c := range map[string]json.RawMessage{"equalization.conditions": obj.Conditions,
			"equalization.recommended": obj.Recommended, "equalization.authsForPolicyHandler": obj.AuthsForPolicyHandler} {
			if !present(c) || isNull(c) {
				continue
			}
			set, err := conditionsSet(c, field)
			if err != nil {
				return nil, err
			}
			in.Set = set
		}
	}
	return in, nil
}

// conditionsSet reads {operator: and, conditions: [...]} as a set.
func conditionsSet(raw json.RawMessage, field string) (*projects.Entitlements, error) {
	var c struct {
		Operator   string            `json:"operator"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, errs.Field(field, errs.CodeType, "%s must be {operator, conditions}", field)
	}
	if c.Operator != "" && !strings.EqualFold(c.Operator, "and") {
		return nil, errs.Field(field+".operator", errs.CodeEnum, "%s.operator must be and: equalized entitlements are all held", field)
	}
	conds, err := authConditions(c.Conditions, field+".conditions")
	if err != nil {
		return nil, err
	}
	set := &projects.Entitlements{Groups: []string{}, Attributes: map[string][]string{}}
	for _, x := range conds {
		if x.Group != "" {
			set.Groups = append(set.Groups, x.Group)
		} else {
			set.Attributes[x.Attribute.Name] = append(set.Attributes[x.Attribute.Name], x.Attribute.Value)
		}
	}
	return set, nil
}

// authConditions reads V1 conditions: groups ({type: groups, group: {name}})
// and attributes ({type: authorizations, authorization: {auth, value}}).
func authConditions(items []json.RawMessage, field string) ([]projects.AuthCondition, error) {
	var out []projects.AuthCondition
	for i, it := range items {
		var c struct {
			Type  string `json:"type"`
			Group *struct {
				Name string `json:"name"`
			} `json:"group"`
			Authorization *struct {
				Auth  string `json:"auth"`
				Value string `json:"value"`
			} `json:"authorization"`
		}
		f := field + "[" + strconv.Itoa(i) + "]"
		if err := json.Unmarshal(it, &c); err != nil {
			return nil, errs.Field(f, errs.CodeType, "%s must be an object", f)
		}
		switch {
		case c.Group != nil && c.Group.Name != "":
			out = append(out, projects.AuthCondition{Group: c.Group.Name})
		case c.Authorization != nil && c.Authorization.Auth != "":
			out = append(out, projects.AuthCondition{Attribute: &policy.Attribute{Name: c.Authorization.Auth, Value: c.Authorization.Value}})
		default:
			return nil, errs.Field(f, errs.CodeInvalid, "%s must name a group ({type: groups, group: {name}}) or an attribute ({type: authorizations, authorization: {auth, value}})", f)
		}
	}
	return out, nil
}

type projectSearchQuery struct {
	Paging
	SortField      string   `query:"sortField" doc:"name (default), status, updatedAt or createdAt"`
	SortOrder      string   `query:"sortOrder" doc:"asc (default) or desc"`
	Subscription   []string `query:"subscription" doc:"subscription types (automatic, approval, policy, manual) or your status (owner, expert, subscribed, pending, not_subscribed)"`
	Status         []string `query:"status" doc:"open or closed"`
	SearchText     string   `query:"searchText" doc:"part of the name, description or documentation"`
	Tag            []string `query:"tag" doc:"a tag of the project (or below it)"`
	NameOnly       bool     `query:"nameOnly" doc:"searchText in the name only"`
	IsEqualized    *bool    `query:"isEqualized"`
	Snowflake      *bool    `query:"snowflake" doc:"true matches nothing: custos has no Snowflake workspaces"`
	DataSourceID   *int64   `query:"dataSourceId" doc:"projects holding this data source"`
	Mode           int      `query:"mode" doc:"0 FULL (default), 1 COUNT, 4 TAG, 5 MIN_MAX, 6 STATUS"`
	IncludeDeleted bool     `query:"includeDeleted" doc:"custos addition: list disabled projects too"`
}

type projectSearchJSON struct {
	Hits   []projectJSON   `json:"hits"`
	Facets projects.Facets `json:"facets"`
	Count  int             `json:"count"`
}

// projectAggregateJSON answers the modes other than FULL.
type projectAggregateJSON struct {
	Facets projects.Facets `json:"facets"`
	Count  int             `json:"count"`
}

type projectUpdateQuery struct {
	DeleteDataSources bool `query:"deleteDataSources" doc:"refused: custos has no workspace data sources to delete"`
}

type projectDeleteJSON struct {
	HardDelete bool `json:"hardDelete" doc:"false: the project was disabled; true: it is gone"`
}

type activityPageQuery struct {
	Offset string `query:"offset" doc:"a number to skip, or the next cursor of a previous page"`
	Size   int    `query:"size" doc:"default 15"`
}

type equalizationStateJSON struct {
	EqualizationState string `json:"equalizationState" doc:"off, recommended, active, upgrade or nonCompliantMembers"`
}

type equalizedAuthsBody struct {
	ConditionsObj *struct {
		Operator   string            `json:"operator"`
		Conditions []json.RawMessage `json:"conditions"`
	} `json:"conditionsObj" doc:"absent: check the project's equalized entitlements"`
}

type missingAuthsJSON struct {
	Name           string             `json:"name"`
	UserID         string             `json:"userid"`
	ProfileID      int64              `json:"profileId"`
	SubscriptionID int64              `json:"subscriptionId"`
	Groups         []string           `json:"groups" doc:"the groups the member lacks"`
	Attributes     []policy.Attribute `json:"attributes" doc:"the attribute values the member lacks"`
}

type equalizedAuthsJSON struct {
	ValidSet          bool                        `json:"validSet"`
	UsersMissingAuths map[string]missingAuthsJSON `json:"usersMissingAuths" doc:"by user id (userid)"`
}

func (s *Server) projectRoutes(prj *projects.Service) {
	const tag = "projects"
	s.Handle(Op{Method: "POST", Path: "/project", Summary: "Create a project (you become its owner)", Tag: tag,
		Permission: auth.CreateProject, Body: projectBody{}, Response: projectJSON{}}, func(r *Request) (any, error) {
		var b projectBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		in, err := b.input()
		if err != nil {
			return nil, err
		}
		v, err := prj.Create(r.Context(), r.P, in)
		if err != nil {
			return nil, err
		}
		out := projectOf(v)
		out.WorkspaceWarnings = &[]string{}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/project", Summary: "Search projects", Tag: tag, Query: projectSearchQuery{},
		Response: projectSearchJSON{}}, func(r *Request) (any, error) {
		var q projectSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(10, 10000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "status", "updatedAt", "createdAt"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		res, err := prj.Search(r.Context(), r.P, projects.Filter{Subscription: q.Subscription, Status: q.Status,
			SearchText: q.SearchText, NameOnly: q.NameOnly, Tags: q.Tag, IsEqualized: q.IsEqualized, Snowflake: q.Snowflake,
			DataSourceID: q.DataSourceID, IncludeDeleted: q.IncludeDeleted, Mode: q.Mode, SortField: q.SortField,
			Descending: desc, Offset: q.Offset, Size: q.Size})
		if err != nil {
			return nil, err
		}
		if q.Mode != projects.ModeFull {
			return projectAggregateJSON{Facets: res.Facets, Count: res.Count}, nil
		}
		out := projectSearchJSON{Count: res.Count, Facets: res.Facets, Hits: make([]projectJSON, len(res.Hits))}
		for i, v := range res.Hits {
			out.Hits[i] = projectOf(v)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/project/{projectId}", Summary: "A project, with your membership", Tag: tag,
		IntParams: []string{"projectId"}, Response: projectJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var q struct {
			CheckForSQLAccount *bool `query:"checkForSqlAccount"`
		}
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		v, err := prj.Get(r.Context(), r.P, id)
		if err != nil {
			return nil, err
		}
		return projectOf(v), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/project/{projectId}", Summary: "Change a project (the fields given)", Tag: tag,
		IntParams: []string{"projectId"}, Query: projectUpdateQuery{}, Body: projectBody{}, Response: projectJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("projectId")
			if err != nil {
				return nil, err
			}
			var q projectUpdateQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			if q.DeleteDataSources {
				return nil, errs.BadRequestf("deleteDataSources: custos has no workspace data sources to delete; " +
					"remove data sources from the project with DELETE /project/{projectId}/dataSources")
			}
			var b projectBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			in, err := b.input()
			if err != nil {
				return nil, err
			}
			v, err := prj.Update(r.Context(), r.P, id, in)
			if err != nil {
				return nil, err
			}
			out := projectOf(v)
			out.WorkspaceWarnings = &[]string{}
			return out, nil
		})

	for _, approve := range []bool{true, false} {
		verb, summary := "deny", "Deny a purpose staged in a project: it is removed (governors)"
		if approve {
			verb, summary = "approve", "Approve a purpose staged in a project: its members act under it once they acknowledge it (governors)"
		}
		s.Handle(Op{Method: "POST", Path: "/project/{projectId}/purpose/{purposeId}/" + verb, Summary: summary, Tag: tag,
			Permission: auth.Governance, IntParams: []string{"projectId", "purposeId"}, Response: projectJSON{}},
			func(r *Request) (any, error) {
				id, err := r.PathInt("projectId")
				if err != nil {
					return nil, err
				}
				purpose, err := r.PathInt("purposeId")
				if err != nil {
					return nil, err
				}
				v, err := prj.DecidePurpose(r.Context(), r.P, id, purpose, approve)
				if err != nil {
					return nil, err
				}
				return projectOf(v), nil
			})
	}

	s.Handle(Op{Method: "DELETE", Path: "/project/{projectId}", Summary: "Disable a project; delete it for good on the second call",
		Tag: tag, IntParams: []string{"projectId"}, Response: projectDeleteJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		hard, err := prj.Delete(r.Context(), r.P, id)
		if err != nil {
			return nil, err
		}
		return projectDeleteJSON{HardDelete: hard}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/project/{projectId}/activity", Summary: "What happened to a project, newest first", Tag: tag,
		IntParams: []string{"projectId"}, Query: activityPageQuery{}, Response: activityPageJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var q activityPageQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if q.Size == 0 {
			q.Size = 15
		}
		if q.Size < 0 || q.Size > 1000 {
			return nil, errs.BadRequestf("query parameter size must be between 1 and 1000")
		}
		if _, err := prj.Get(r.Context(), r.P, id); err != nil {
			return nil, err
		}
		offset, after, err := activityOffset(q.Offset)
		if err != nil {
			return nil, err
		}
		page, err := activity.OfModel(r.Context(), &s.DB.Queries, r.P, "project", strconv.FormatInt(id, 10),
			activity.Filter{Descending: true, Offset: offset, After: after, Size: q.Size})
		if err != nil {
			return nil, err
		}
		return activityPageOf(page), nil
	})

	s.Handle(Op{Method: "GET", Path: "/project/{projectId}/checkEqualizationState",
		Summary: "How a project stands with equalization", Tag: tag, IntParams: []string{"projectId"},
		Response: equalizationStateJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		st, err := prj.EqualizationState(r.Context(), r.P, id)
		if err != nil {
			return nil, err
		}
		return equalizationStateJSON{EqualizationState: st}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/project/{projectId}/checkEqualizedAuths",
		Summary: "Check that every member holds the given (or the equalized) entitlements", Tag: tag, NoAudit: true,
		IntParams: []string{"projectId"}, Body: equalizedAuthsBody{}, Response: equalizedAuthsJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var b equalizedAuthsBody
		if err := r.DecodeOptional(&b); err != nil {
			return nil, err
		}
		op := ""
		var conds []projects.AuthCondition
		if b.ConditionsObj != nil {
			op = b.ConditionsObj.Operator
			if conds, err = authConditions(b.ConditionsObj.Conditions, "conditionsObj.conditions"); err != nil {
				return nil, err
			}
		}
		valid, missing, err := prj.CheckEqualizedAuths(r.Context(), r.P, id, op, conds)
		if err != nil {
			return nil, err
		}
		out := equalizedAuthsJSON{ValidSet: valid, UsersMissingAuths: map[string]missingAuthsJSON{}}
		for _, m := range missing {
			out.UsersMissingAuths[m.Username] = missingAuthsJSON{Name: m.Name, UserID: m.Username, ProfileID: m.UserID,
				SubscriptionID: m.SubscriptionID, Groups: nonNil(m.Groups), Attributes: m.Attributes}
			if out.UsersMissingAuths[m.Username].Attributes == nil {
				x := out.UsersMissingAuths[m.Username]
				x.Attributes = []policy.Attribute{}
				out.UsersMissingAuths[m.Username] = x
			}
		}
		return out, nil
	})
}

// activityOffset reads an offset that is a number or a next cursor.
func activityOffset(s string) (offset int, after int64, err error) {
	if s == "" {
		return 0, 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, 0, nil
	}
	if id, ok := activity.ParseCursor(s); ok {
		return 0, id, nil
	}
	return 0, 0, errs.BadRequestf("query parameter offset must be a number or the next cursor of a previous page, not %q", s)
}

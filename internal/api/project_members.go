package api

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/projects"
	"github.com/custosdata/custos/internal/requests"
)

type memberListQuery struct {
	Paging
	States           []string `query:"states" doc:"owner, expert, subscribed, pending, denied"`
	MemberTypes      []string `query:"memberTypes" doc:"user, group, policy (admitted by an automatic policy)"`
	SortField        string   `query:"sortField" doc:"name (default), email, state, expiration, type"`
	SortOrder        string   `query:"sortOrder" doc:"asc (default) or desc"`
	SearchText       string   `query:"searchText" doc:"part of the name, user id or e-mail"`
	Approved         *bool    `query:"approved"`
	CheckDataSources bool     `query:"checkDataSources" doc:"add, for managers, the project's data sources each member cannot query"`
	ExpandGroups     bool     `query:"expandGroups" doc:"list the members of member groups one by one"`
}

type complianceJSON struct {
	MissingDataSources   []int64 `json:"missingDataSources" doc:"the project's data sources the member cannot query"`
	InvalidSubscriptions []int64 `json:"invalidSubscriptions"`
}

type projectMemberJSON struct {
	Profile               *int64              `json:"profile"`
	Group                 *int64              `json:"group,omitempty"`
	Name                  string              `json:"name"`
	IAMID                 string              `json:"iamid"`
	UserID                string              `json:"userid,omitempty"`
	Email                 string              `json:"email"`
	Type                  string              `json:"type" doc:"user or group"`
	Approved              bool                `json:"approved"`
	State                 string              `json:"state"`
	SystemGenerated       bool                `json:"systemGenerated"`
	LastExternalRefresh   *time.Time          `json:"lastExternalRefresh"`
	SubscriptionID        *int64              `json:"subscriptionId" doc:"null for a member an automatic policy admits"`
	CreatedAt             *time.Time          `json:"createdAt"`
	UpdatedAt             *time.Time          `json:"updatedAt"`
	Expiration            *time.Time          `json:"expiration"`
	Approvals             []requests.Approval `json:"approvals"`
	CurrentUserCanApprove bool                `json:"currentUserCanApprove"`
	AcknowledgeRequired   bool                `json:"acknowledgeRequired" doc:"custos addition: the member has purposes to acknowledge"`
	Policy                bool                `json:"policy" doc:"custos addition: admitted by an automatic subscription policy"`
	ViaGroup              *string             `json:"viaGroup,omitempty" doc:"custos addition: the group through which the member is listed (expandGroups)"`
	Compliance            *complianceJSON     `json:"compliance,omitempty"`
}

type projectMemberListJSON struct {
	Count   int                 `json:"count"`
	Members []projectMemberJSON `json:"members"`
}

func memberLineOf(l projects.MemberLine) projectMemberJSON {
	out := projectMemberJSON{Name: l.Name, IAMID: l.IAMID, UserID: l.UserID, Email: l.Email, Type: l.Type, Approved: l.Approved,
		State: l.State, SystemGenerated: l.SystemGenerated, Approvals: []requests.Approval{}, CurrentUserCanApprove: l.CanApprove,
		AcknowledgeRequired: l.AcknowledgeRequired, Policy: l.Policy, ViaGroup: l.Via}
	id := l.ID
	if l.Type == "group" {
		out.Group = &id
	} else {
		out.Profile = &id
	}
	if m := l.Member; m != nil {
		sid, c, u := m.ID, m.CreatedAt, m.UpdatedAt
		out.SubscriptionID, out.CreatedAt, out.UpdatedAt, out.Expiration = &sid, &c, &u, m.Expiration
		if len(m.Approvals) > 0 && !isNull(m.Approvals) {
			_ = json.Unmarshal(m.Approvals, &out.Approvals)
		}
	}
	if l.MissingDataSources != nil {
		out.Compliance = &complianceJSON{MissingDataSources: l.MissingDataSources, InvalidSubscriptions: []int64{}}
	}
	return out
}

type memberAddBody struct {
	ProfileID  *int64              `json:"profileId" doc:"the user to add (yourself, to join)"`
	GroupID    *int64              `json:"groupId" doc:"a group to add instead (managers)"`
	State      string              `json:"state" doc:"owner, expert or subscribed (default)"`
	Expiration *string             `json:"expiration" doc:"when the membership ends"`
	Approvals  []requests.Approval `json:"approvals" doc:"the specific approvers a request names, where the policy requires one"`
	Metadata   json.RawMessage     `json:"metadata"`
}

type memberAddedJSON struct {
	SubscriptionID int64  `json:"subscriptionId"`
	State          string `json:"state" doc:"pending when the request needs approval"`
	Approved       bool   `json:"approved"`
}

type memberUpdateBody struct {
	State      json.RawMessage `json:"state" doc:"owner, expert, subscribed, denied or not_subscribed (removes the member); a one-element array is accepted"`
	Expiration *string         `json:"expiration"`
}

type memberUpdatedJSON struct {
	State      string     `json:"state"`
	Expiration *time.Time `json:"expiration"`
}

type acknowledgeBody struct {
	Text string `json:"text" doc:"accepted and not checked"`
}

type acknowledgedPurposeJSON struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Acknowledgement string `json:"acknowledgement" doc:"the statement in force"`
}

type acknowledgeJSON struct {
	AcknowledgeRequired bool                      `json:"acknowledgeRequired"`
	Purposes            []acknowledgedPurposeJSON `json:"purposes"`
}

type currentProjectJSON struct {
	ProjectID *int64 `json:"projectId"`
}

type projectSourcesQuery struct {
	Paging
	SearchText   string   `query:"searchText" doc:"part of the data source name"`
	SortField    string   `query:"sortField" doc:"dataSourceName (default), addedBy, addedOn"`
	SortOrder    string   `query:"sortOrder" doc:"asc (default) or desc"`
	Unsubscribed *bool    `query:"unsubscribed" doc:"true: those you cannot query (pending included); false: those you can"`
	Subscription []string `query:"subscription" doc:"your status: owner, expert, subscribed, pending, not_subscribed"`
	IDOnly       string   `query:"idOnly" doc:"accepted; the full lines are answered"`
}

type projectSourceJSON struct {
	AddedBy              string         `json:"addedBy"`
	DataSourceName       string         `json:"dataSourceName"`
	PolicyHandlerType    string         `json:"policyHandlerType" doc:"Builder when policies apply, else None"`
	AddedOn              time.Time      `json:"addedOn"`
	DataSourceID         int64          `json:"dataSourceId"`
	AddedByProfile       *int64         `json:"addedByProfile"`
	Deleted              bool           `json:"deleted" doc:"the data source is disabled"`
	SubscriptionType     string         `json:"subscriptionType"`
	SubscriptionStatus   string         `json:"subscriptionStatus" doc:"yours"`
	SubscriptionPolicy   map[string]any `json:"subscriptionPolicy"`
	ConnectionString     *string        `json:"connectionString"`
	BlobHandlerType      string         `json:"blobHandlerType"`
	DerivedInThisProject bool           `json:"derivedInThisProject"`
	Reason               *string        `json:"reason" doc:"custos addition: why it is in the project"`
}

type projectSourcesJSON struct {
	Count       int                 `json:"count"`
	DataSources []projectSourceJSON `json:"dataSources"`
}

type sourceResultJSON struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	BlobHandlerType string `json:"blobHandlerType"`
	Message         string `json:"message,omitempty" doc:"why it failed"`
}

type sourceResultsJSON struct {
	Success []sourceResultJSON `json:"success"`
	InError []sourceResultJSON `json:"inError"`
}

func sourceResultsOf(ok, failed []projects.SourceResult) sourceResultsJSON {
	out := sourceResultsJSON{Success: []sourceResultJSON{}, InError: []sourceResultJSON{}}
	for _, r := range ok {
		out.Success = append(out.Success, sourceResultJSON{ID: r.ID, Name: r.Name, BlobHandlerType: r.Technology})
	}
	for _, r := range failed {
		out.InError = append(out.InError, sourceResultJSON{ID: r.ID, Name: r.Name, BlobHandlerType: r.Technology, Message: r.Message})
	}
	return out
}

type sourcesAddBody struct {
	DataSourceIDs json.RawMessage `json:"dataSourceIds" required:"true" doc:"an id or an array of ids"`
	Comment       *string         `json:"comment" doc:"why they are added"`
}

type sourcesRemoveQuery struct {
	IDs []int64 `query:"ids" doc:"the data sources to remove"`
}

type sourceReasonBody struct {
	Reason  *string `json:"reason"`
	Comment *string `json:"comment"`
}

// planSubscription renders a plan's READ subscription rule in the V1 shape.
func planSubscription(p *policy.Plan) (string, map[string]any) {
	if p == nil || p.Read == nil {
		return "manual", nil
	}
	a := p.Read
	names := map[policy.SubscriptionType]string{policy.SubAnyone: "automatic", policy.SubApproval: "approval",
		policy.SubEntitlements: "policy", policy.SubManual: "manual"}
	out := map[string]any{"type": "subscription", "subscriptionType": names[a.Type], "automaticSubscription": a.AutomaticSubscription,
		"allowDiscovery": a.AllowDiscovery, "shareResponsibility": false}
	if len(a.Approvals) > 0 {
		out["approvals"] = a.Approvals
	}
	if a.Who != nil {
		out["conditions"] = a.Who.String()
	}
	return names[a.Type], out
}

// int64List reads an id or an array of ids.
func int64List(raw json.RawMessage, field string) ([]int64, error) {
	var one int64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int64{one}, nil
	}
	var many []int64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errs.Field(field, errs.CodeType, "%s must be an id or an array of ids", field)
	}
	return many, nil
}

func (s *Server) projectMemberRoutes(prj *projects.Service) {
	const tag = "project members"
	s.Handle(Op{Method: "GET", Path: "/project/{projectId}/members", Summary: "A project's members and requests (members and managers)",
		Tag: tag, IntParams: []string{"projectId"}, Query: memberListQuery{}, Response: projectMemberListJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var q memberListQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(15, 10000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "email", "state", "expiration", "type"); err != nil {
			return nil, err
		}
		for _, st := range q.States {
			if err := OneOf("states", st, "owner", "expert", "subscribed", "pending", "denied", "ingest"); err != nil {
				return nil, err
			}
		}
		for _, t := range q.MemberTypes {
			if err := OneOf("memberTypes", t, "user", "group", "policy"); err != nil {
				return nil, err
			}
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		lines, total, err := prj.Members(r.Context(), r.P, id, projects.MemberFilter{States: q.States, MemberTypes: q.MemberTypes,
			SearchText: q.SearchText, Approved: q.Approved, ExpandGroups: q.ExpandGroups, CheckDataSources: q.CheckDataSources,
			SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size})
		if err != nil {
			return nil, err
		}
		out := projectMemberListJSON{Count: total, Members: make([]projectMemberJSON, len(lines))}
		for i, l := range lines {
			out.Members[i] = memberLineOf(l)
		}
		return out, nil
	})

	s.Handle(Op{Method: "POST", Path: "/project/{projectId}/members",
		Summary: "Add a member (managers), or join as the subscription policy allows (yourself)", Tag: tag,
		IntParams: []string{"projectId"}, Body: memberAddBody{}, Response: memberAddedJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var b memberAddBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		in := projects.MemberInput{ProfileID: b.ProfileID, GroupID: b.GroupID, State: b.State, Approvals: b.Approvals, Metadata: b.Metadata}
		if in.Expiration, err = optionalTime(b.Expiration, "expiration"); err != nil {
			return nil, err
		}
		m, err := prj.AddMember(r.Context(), r.P, id, in)
		if err != nil {
			return nil, err
		}
		return memberAddedJSON{SubscriptionID: m.ID, State: m.State, Approved: m.State != "pending" && m.State != "denied"}, nil
	})

	s.Handle(Op{Method: "PUT", Path: "/project/{projectId}/members/{subscriptionId}", Summary: "Change a member's state or expiration (managers)",
		Tag: tag, IntParams: []string{"projectId", "subscriptionId"}, Body: memberUpdateBody{}, Response: memberUpdatedJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("projectId")
			if err != nil {
				return nil, err
			}
			sid, err := r.PathInt("subscriptionId")
			if err != nil {
				return nil, err
			}
			var b memberUpdateBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			state, err := stateOf(b.State)
			if err != nil {
				return nil, err
			}
			exp, err := optionalTime(b.Expiration, "expiration")
			if err != nil {
				return nil, err
			}
			m, err := prj.UpdateMember(r.Context(), r.P, id, sid, state, exp)
			if err != nil {
				return nil, err
			}
			return memberUpdatedJSON{State: m.State, Expiration: m.Expiration}, nil
		})

	s.Handle(Op{Method: "POST", Path: "/project/{projectId}/members/{subscriptionId}/acknowledge",
		Summary: "Acknowledge the statements of a project's purposes (your own membership)", Tag: tag,
		IntParams: []string{"projectId", "subscriptionId"}, Body: acknowledgeBody{}, Response: acknowledgeJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("projectId")
			if err != nil {
				return nil, err
			}
			sid, err := r.PathInt("subscriptionId")
			if err != nil {
				return nil, err
			}
			var b acknowledgeBody
			if err := r.DecodeOptional(&b); err != nil {
				return nil, err
			}
			ack, err := prj.Acknowledge(r.Context(), r.P, id, sid)
			if err != nil {
				return nil, err
			}
			out := acknowledgeJSON{AcknowledgeRequired: ack.AcknowledgeRequired, Purposes: []acknowledgedPurposeJSON{}}
			for _, p := range ack.Purposes {
				out.Purposes = append(out.Purposes, acknowledgedPurposeJSON{ID: p.ID, Name: p.Name, Acknowledgement: p.Acknowledgement})
			}
			return out, nil
		})

	s.Handle(Op{Method: "DELETE", Path: "/project/{projectId}/unsubscribe", Summary: "Leave a project (or withdraw your request)",
		Tag: tag, IntParams: []string{"projectId"}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		return nil, prj.Unsubscribe(r.Context(), r.P, id)
	})

	s.Handle(Op{Method: "POST", Path: "/project/current/{projectId}",
		Summary: "Act under a project (its purposes), or under none with null", Tag: tag,
		Response: currentProjectJSON{}}, func(r *Request) (any, error) {
		raw := r.Path("projectId")
		var id *int64
		if raw != "null" {
			n, err := r.PathInt("projectId")
			if err != nil {
				return nil, errs.BadRequestf("path parameter projectId must be a project id or null, not %q", raw)
			}
			id = &n
		}
		if err := prj.SetCurrent(r.Context(), r.P, id); err != nil {
			return nil, err
		}
		return currentProjectJSON{ProjectID: id}, nil
	})

	const dsTag = "project data sources"
	s.Handle(Op{Method: "GET", Path: "/project/{projectId}/dataSources", Summary: "A project's data sources, with your status on each",
		Tag: dsTag, IntParams: []string{"projectId"}, Query: projectSourcesQuery{}, Response: projectSourcesJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("projectId")
			if err != nil {
				return nil, err
			}
			var q projectSourcesQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			if err := q.Paging.Check(15, 10000); err != nil {
				return nil, err
			}
			if err := OneOf("sortField", q.SortField, "dataSourceName", "addedBy", "addedOn"); err != nil {
				return nil, err
			}
			for _, st := range q.Subscription {
				if err := OneOf("subscription", st, "owner", "expert", "subscribed", "pending", "not_subscribed"); err != nil {
					return nil, err
				}
			}
			desc, err := SortOrder(q.SortOrder, false)
			if err != nil {
				return nil, err
			}
			lines, total, err := prj.DataSources(r.Context(), r.P, id, projects.SourceFilter{SearchText: q.SearchText,
				Unsubscribed: q.Unsubscribed, Subscription: q.Subscription, SortField: q.SortField, Descending: desc,
				Offset: q.Offset, Size: q.Size})
			if err != nil {
				return nil, err
			}
			out := projectSourcesJSON{Count: total, DataSources: make([]projectSourceJSON, len(lines))}
			for i, l := range lines {
				typ, pol := planSubscription(l.Plan)
				handler := "None"
				if l.Plan != nil && len(l.Plan.Policies) > 0 {
					handler = "Builder"
				}
				out.DataSources[i] = projectSourceJSON{AddedBy: l.AddedBy, DataSourceName: l.DataSource.Name, PolicyHandlerType: handler,
					AddedOn: l.Link.CreatedAt, DataSourceID: l.DataSource.ID, AddedByProfile: l.Link.AddedBy,
					Deleted: l.DataSource.Status != "enabled", SubscriptionType: typ, SubscriptionStatus: l.Status,
					SubscriptionPolicy: pol, BlobHandlerType: l.DataSource.Technology, Reason: l.Link.Reason}
			}
			return out, nil
		})

	s.Handle(Op{Method: "POST", Path: "/project/{projectId}/dataSources", Summary: "Add data sources to a project (managers)",
		Tag: dsTag, IntParams: []string{"projectId"}, Body: sourcesAddBody{}, Response: sourceResultsJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var b sourcesAddBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		if !present(b.DataSourceIDs) || isNull(b.DataSourceIDs) {
			return nil, errs.Field("dataSourceIds", errs.CodeRequired, "dataSourceIds is required")
		}
		ids, err := int64List(b.DataSourceIDs, "dataSourceIds")
		if err != nil {
			return nil, err
		}
		ok, failed, err := prj.AddDataSources(r.Context(), r.P, id, ids, b.Comment)
		if err != nil {
			return nil, err
		}
		return sourceResultsOf(ok, failed), nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/project/{projectId}/dataSources", Summary: "Remove data sources from a project (managers)",
		Tag: dsTag, IntParams: []string{"projectId"}, Query: sourcesRemoveQuery{}, Response: sourceResultsJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		var q sourcesRemoveQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		ok, failed, err := prj.RemoveDataSources(r.Context(), r.P, id, q.IDs)
		if err != nil {
			return nil, err
		}
		return sourceResultsOf(ok, failed), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/project/{projectId}/dataSources/{dataSourceId}",
		Summary: "Change why a data source is in a project (managers)", Tag: dsTag,
		IntParams: []string{"projectId", "dataSourceId"}, Body: sourceReasonBody{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("projectId")
		if err != nil {
			return nil, err
		}
		ds, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		var b sourceReasonBody
		if err := r.DecodeOptional(&b); err != nil {
			return nil, err
		}
		reason := b.Reason
		if reason == nil {
			reason = b.Comment
		}
		return nil, prj.UpdateDataSourceReason(r.Context(), r.P, id, ds, reason)
	})
}

// stateOf reads a state given as a string or a one-element array.
func stateOf(raw json.RawMessage) (string, error) {
	if !present(raw) || isNull(raw) {
		return "", errs.Field("state", errs.CodeRequired, "state is required")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return strings.TrimSpace(one), nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || len(many) != 1 {
		return "", errs.Field("state", errs.CodeType, "state must be a string (or an array of one)")
	}
	return strings.TrimSpace(many[0]), nil
}

// optionalTime reads an optional timestamp field.
func optionalTime(v *string, field string) (*time.Time, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := ParseTime(*v)
	if err != nil {
		return nil, errs.Field(field, errs.CodeInvalid, "%s %v", field, err)
	}
	return &t, nil
}

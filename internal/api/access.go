package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
)

// accessGrantBody is the manual grant of POST /dataSource/{id}/access.
type accessGrantBody struct {
	ProfileID   *int64          `json:"profileId" doc:"the user to grant (or groupId)"`
	GroupID     *int64          `json:"groupId" doc:"a group to grant instead of a user"`
	State       string          `json:"state" required:"true" doc:"subscribed, owner or expert"`
	AccessGrant string          `json:"accessGrant" doc:"READ (default) or WRITE"`
	Expiration  *string         `json:"expiration" doc:"when the access ends (date or timestamp); absent: never"`
	Approvals   json.RawMessage `json:"approvals" doc:"kept with the subscription as given"`
}

// subscriptionJSON is a subscription record, in the documented field order.
type subscriptionJSON struct {
	IsSubscriptionOverride bool           `json:"isSubscriptionOverride" doc:"granted by hand rather than by a policy"`
	ID                     int64          `json:"id" doc:"the subscription id"`
	ModelID                string         `json:"modelId" doc:"the data source id"`
	ModelType              string         `json:"modelType"`
	State                  string         `json:"state"`
	Metadata               map[string]any `json:"metadata"`
	Admin                  *int64         `json:"admin" doc:"who granted it"`
	DenialReasoning        *string        `json:"denialReasoning"`
	Profile                *int64         `json:"profile"`
	Group                  *string        `json:"group" doc:"the group's name, for a group's subscription"`
	Policy                 bool           `json:"policy" doc:"granted by a policy"`
	Expiration             *time.Time     `json:"expiration"`
	AcknowledgeRequired    bool           `json:"acknowledgeRequired"`
	CreatedAt              time.Time      `json:"createdAt"`
	UpdatedAt              time.Time      `json:"updatedAt"`
	AccessGrant            string         `json:"accessGrant"`
	Approved               bool           `json:"approved"`
}

func subscriptionOf(e *access.Entry, group *string) subscriptionJSON {
	out := subscriptionJSON{IsSubscriptionOverride: e.Override, ID: e.ID, ModelID: strconv.FormatInt(e.DataSourceID, 10),
		ModelType: "datasource", State: e.State, Metadata: map[string]any{}, Admin: e.ApprovedBy, DenialReasoning: e.Reason,
		Group: group, Expiration: e.Expiration, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, AccessGrant: e.AccessGrant,
		Approved: e.State != "pending" && e.State != "denied"}
	if e.State != "denied" {
		out.DenialReasoning = nil
	}
	if e.ModelType == access.ModelUser {
		id := e.ModelID
		out.Profile = &id
	}
	return out
}

type accessListQuery struct {
	Paging
	States                  []string `query:"states" doc:"owner, expert, subscribed, pending, denied"`
	Approved                *bool    `query:"approved"`
	SearchText              string   `query:"searchText" doc:"part of the name, user id or e-mail"`
	SortField               string   `query:"sortField" doc:"name (default), state, createdAt, updatedAt, expiration"`
	SortOrder               string   `query:"sortOrder" doc:"asc (default) or desc"`
	ExpandGroups            bool     `query:"expandGroups" doc:"list the members of subscribed groups one by one"`
	IgnoreSystemGenerated   bool     `query:"ignoreSystemGenerated"`
	FilterBySchemaEvolution bool     `query:"filterBySchemaEvolution" doc:"accepted; custos has no schema evolution groups, so it narrows nothing"`
}

type accessUserJSON struct {
	Profile                *int64     `json:"profile"`
	GroupID                *int64     `json:"groupId,omitempty"`
	Name                   string     `json:"name"`
	IAMID                  string     `json:"iamid"`
	UserID                 string     `json:"userid,omitempty"`
	Email                  *string    `json:"email" doc:"null when the user has none"`
	Type                   string     `json:"type" doc:"user or group"`
	Admin                  *string    `json:"admin" doc:"the name of who granted it"`
	Approved               bool       `json:"approved"`
	State                  string     `json:"state"`
	SystemGenerated        bool       `json:"systemGenerated"`
	LastExternalRefresh    *time.Time `json:"lastExternalRefresh"`
	SubscriptionID         *int64     `json:"subscriptionId" doc:"null for a subscription an automatic policy gives"`
	CreatedAt              *time.Time `json:"createdAt"`
	UpdatedAt              *time.Time `json:"updatedAt"`
	Approvals              []any      `json:"approvals"`
	CurrentUserCanApprove  bool       `json:"currentUserCanApprove"`
	AccessGrant            string     `json:"accessGrant" doc:"custos addition: READ or WRITE"`
	Expiration             *time.Time `json:"expiration" doc:"custos addition"`
	Policy                 bool       `json:"policy" doc:"custos addition: given by an automatic subscription policy"`
	IsSubscriptionOverride bool       `json:"isSubscriptionOverride" doc:"custos addition: granted by hand"`
	Group                  *string    `json:"group,omitempty" doc:"custos addition: the group whose subscription this member has (expandGroups)"`
}

type accessListJSON struct {
	Count int              `json:"count"`
	Users []accessUserJSON `json:"users"`
}

func (s *Server) accessRoutes(acc *access.Service) {
	const tag = "data source access"
	s.Handle(Op{Method: "POST", Path: "/dataSource/{dataSourceId}/access", Summary: "Grant a user or group access by hand (owners and governors)",
		Tag: tag, IntParams: []string{"dataSourceId"}, Body: accessGrantBody{}, Response: subscriptionJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			var b accessGrantBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			in := access.GrantInput{ProfileID: b.ProfileID, GroupID: b.GroupID, State: b.State, AccessGrant: b.AccessGrant,
				Approvals: b.Approvals}
			if string(b.Approvals) == "null" {
				in.Approvals = nil
			}
			if b.Expiration != nil && *b.Expiration != "" {
				t, err := ParseTime(*b.Expiration)
				if err != nil {
					return nil, errs.Field("expiration", errs.CodeInvalid, "expiration %v", err)
				}
				in.Expiration = &t
			}
			g, err := acc.Grant(r.Context(), r.P, id, in)
			if err != nil {
				return nil, err
			}
			return subscriptionOf(g.Entry, g.GroupName), nil
		})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/access", Summary: "Who has what access to a data source",
		Tag: tag, IntParams: []string{"dataSourceId"}, Query: accessListQuery{}, Response: accessListJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			var q accessListQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			if err := q.Paging.Check(10000, 10000); err != nil {
				return nil, err
			}
			if err := OneOf("sortField", q.SortField, "name", "state", "createdAt", "updatedAt", "expiration"); err != nil {
				return nil, err
			}
			desc, err := SortOrder(q.SortOrder, false)
			if err != nil {
				return nil, err
			}
			members, total, err := acc.List(r.Context(), r.P, id, access.Filter{States: q.States, Approved: q.Approved,
				SearchText: q.SearchText, ExpandGroups: q.ExpandGroups, IgnoreSystemGenerated: q.IgnoreSystemGenerated,
				SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size})
			if err != nil {
				return nil, err
			}
			canApprove := r.P.Has(auth.Governance)
			if !canApprove {
				if canApprove, err = acc.IsOwner(r.Context(), id, r.P.UserID); err != nil {
					return nil, err
				}
			}
			out := accessListJSON{Count: total, Users: make([]accessUserJSON, len(members))}
			for i, m := range members {
				u := accessUserJSON{Profile: m.ProfileID, GroupID: m.GroupID, Name: m.Name, IAMID: m.IAMID, UserID: m.UserID,
					Email: optionalText(m.Email), Type: m.Type, Admin: m.AdminName, Approved: m.Approved, State: m.State,
					SystemGenerated: m.SystemGenerated, Approvals: []any{}, AccessGrant: m.AccessGrant,
					Expiration: m.Expiration, Policy: m.Policy, Group: m.ViaGroup,
					CurrentUserCanApprove: canApprove && m.State == "pending"}
				if e := m.Entry; e != nil {
					sid, created, updated := e.ID, e.CreatedAt, e.UpdatedAt
					u.SubscriptionID, u.CreatedAt, u.UpdatedAt, u.IsSubscriptionOverride = &sid, &created, &updated, e.Override
					if len(e.Approvals) > 0 {
						_ = json.Unmarshal(e.Approvals, &u.Approvals)
					}
				}
				out.Users[i] = u
			}
			return out, nil
		})
}

// optionalText is nil for empty text, so that JSON shows null.
func optionalText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

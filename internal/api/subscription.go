package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/projects"
	"github.com/custosdata/custos/internal/requests"
)

type pendingQuery struct {
	Paging
	GroupByEntity bool     `query:"groupByEntity" doc:"one hit per requester, with count"`
	ProfileID     *int64   `query:"profileId"`
	GroupID       *int64   `query:"groupId"`
	Name          string   `query:"name" doc:"part of the requester's name"`
	Email         string   `query:"email" doc:"part of the requester's e-mail"`
	ModelName     string   `query:"modelName" doc:"part of the data source's or project's name"`
	ModelTypes    []string `query:"modelTypes" doc:"datasource, project"`
	SortField     string   `query:"sortField" doc:"name (default) or email"`
	SortOrder     string   `query:"sortOrder" doc:"asc (default) or desc"`
}

type pendingHitJSON struct {
	ID        *int64              `json:"id,omitempty" doc:"the subscription id; left out when count > 1"`
	CreatedAt time.Time           `json:"createdAt"`
	Metadata  map[string]any      `json:"metadata"`
	Model     *requests.ModelRef  `json:"model,omitempty"`
	Entity    requests.EntityRef  `json:"entity"`
	Approvals []requests.Approval `json:"approvals"`
	Count     *int                `json:"count,omitempty" doc:"the requests of this requester (groupByEntity)"`
}

type pendingJSON struct {
	Hits  []pendingHitJSON `json:"hits"`
	Count int              `json:"count"`
}

type requestInfoQuery struct {
	ProfileID *int64 `query:"profileId" doc:"another user's requests"`
	GroupID   *int64 `query:"groupId" doc:"a group's requests"`
}

type requestRecordJSON struct {
	SubscriptionID     int64   `json:"subscriptionId"`
	RequiredPermission string  `json:"requiredPermission"`
	State              string  `json:"state"`
	ApproverID         *int64  `json:"approverId"`
	OwnerModelID       *int64  `json:"ownerModelId"`
	Approver           *string `json:"approver"`
	OwnerModelName     *string `json:"ownerModelName"`
	SpecificApprover   *int64  `json:"specificApprover,omitempty"`
}

type requestInfoJSON struct {
	Records []requestRecordJSON `json:"records"`
}

type decisionItem struct {
	ID              *int64  `json:"id" required:"true" doc:"the subscription id of the request"`
	ModelType       string  `json:"modelType" doc:"custos addition: datasource or project, when an id names a request on both"`
	Expiration      *string `json:"expiration" doc:"approve: when the access ends"`
	DenialReasoning string  `json:"denialReasoning" doc:"deny: why (required)"`
}

type decisionsBody struct {
	Requests []decisionItem `json:"requests" required:"true"`
}

type failureJSON struct {
	ID           int64               `json:"id"`
	ErrorMessage string              `json:"errorMessage"`
	Model        *requests.ModelRef  `json:"model,omitempty"`
	Entity       *requests.EntityRef `json:"entity,omitempty"`
}

type failuresJSON struct {
	Failures []failureJSON `json:"failures"`
}

type bulkDecisionBody struct {
	RequestIDs      []int64 `json:"requestIds" doc:"the requests; or id and type for every request of a user or group"`
	ID              *int64  `json:"id"`
	Type            string  `json:"type" doc:"profile or group"`
	ModelType       string  `json:"modelType" doc:"custos addition: datasource or project, for requestIds"`
	DenialReasoning string  `json:"denialReasoning" doc:"deny: why (required)"`
}

func (b *decisionsBody) decisions(approve bool) ([]requests.Decision, error) {
	if len(b.Requests) == 0 {
		return nil, errs.Field("requests", errs.CodeRequired, "requests must list at least one request")
	}
	out := make([]requests.Decision, len(b.Requests))
	for i, it := range b.Requests {
		if it.ID == nil {
			return nil, errs.Field("requests["+itoa(i)+"].id", errs.CodeRequired, "requests[%d].id is required", i)
		}
		d := requests.Decision{ID: *it.ID, ModelType: it.ModelType, Reason: it.DenialReasoning}
		if approve {
			exp, err := optionalTime(it.Expiration, "requests["+itoa(i)+"].expiration")
			if err != nil {
				return nil, err
			}
			d.Expiration = exp
		}
		out[i] = d
	}
	return out, nil
}

func failuresOf(fs []requests.Failure) failuresJSON {
	out := failuresJSON{Failures: []failureJSON{}}
	for _, f := range fs {
		out.Failures = append(out.Failures, failureJSON{ID: f.ID, ErrorMessage: f.ErrorMessage, Model: f.Model, Entity: f.Entity})
	}
	return out
}

func (s *Server) subscriptionRoutes(req *requests.Service, prj *projects.Service) {
	const tag = "access requests"
	pending := func(r *Request) (any, error) {
		var q pendingQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(15, 10000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "email"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		hits, total, err := req.PendingFor(r.Context(), r.P, requests.PendingFilter{GroupByEntity: q.GroupByEntity,
			ProfileID: q.ProfileID, GroupID: q.GroupID, Name: q.Name, Email: q.Email, ModelName: q.ModelName,
			ModelTypes: q.ModelTypes, SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size})
		if err != nil {
			return nil, err
		}
		out := pendingJSON{Count: total, Hits: make([]pendingHitJSON, len(hits))}
		for i, h := range hits {
			rq := h.Request
			hit := pendingHitJSON{CreatedAt: rq.CreatedAt, Metadata: rq.Metadata, Entity: h.Entity, Approvals: rq.Approvals}
			if hit.Approvals == nil {
				hit.Approvals = []requests.Approval{}
			}
			if h.Count > 1 {
				n := h.Count
				hit.Count = &n
			} else {
				id := rq.ID
				hit.ID = &id
				hit.Model = &requests.ModelRef{Type: rq.ModelType, ID: rq.ModelID, Name: rq.ModelName}
			}
			out.Hits[i] = hit
		}
		return out, nil
	}
	s.Handle(Op{Method: "GET", Path: "/subscription/getPendingRequestsForUser", Summary: "The pending requests you can approve",
		Tag: tag, Query: pendingQuery{}, Response: pendingJSON{}}, pending)
	s.Handle(Op{Method: "POST", Path: "/subscription/getPendingRequestsForUser",
		Summary: "The pending requests you can approve (the POST of the reference's example)", Tag: tag, NoAudit: true,
		Query: pendingQuery{}, Response: pendingJSON{}}, pending)

	s.Handle(Op{Method: "GET", Path: "/subscription/requestInfo/{modelType}/{modelId}",
		Summary: "Your pending requests on a data source or project (or a user's or group's, for their approvers)", Tag: tag,
		IntParams: []string{"modelId"}, Query: requestInfoQuery{}, Response: requestInfoJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("modelId")
		if err != nil {
			return nil, err
		}
		var q requestInfoQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		list, err := req.Info(r.Context(), r.P, r.Path("modelType"), id, q.ProfileID, q.GroupID)
		if err != nil {
			return nil, err
		}
		out := requestInfoJSON{Records: []requestRecordJSON{}}
		for _, rq := range list {
			for _, a := range rq.Approvals {
				out.Records = append(out.Records, requestRecordJSON{SubscriptionID: rq.ID, RequiredPermission: a.RequiredPermission,
					State: a.State, ApproverID: a.ApproverID, OwnerModelID: a.OwnerModelID, Approver: a.Approver,
					OwnerModelName: a.OwnerModelName, SpecificApprover: a.SpecificApprover})
			}
		}
		return out, nil
	})

	s.Handle(Op{Method: "POST", Path: "/subscription/approve", Summary: "Give your approval to requests; each is granted once every approval it needs is given",
		Tag: tag, Body: decisionsBody{}, Response: failuresJSON{}}, func(r *Request) (any, error) {
		var b decisionsBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		items, err := b.decisions(true)
		if err != nil {
			return nil, err
		}
		fs, err := req.Approve(r.Context(), r.P, items)
		if err != nil {
			return nil, err
		}
		if len(fs) == len(items) {
			s.noteRefusal(r, "approve", fs)
		}
		return failuresOf(fs), nil
	})

	s.Handle(Op{Method: "POST", Path: "/subscription/deny", Summary: "Deny requests, with the reason", Tag: tag,
		Body: decisionsBody{}, Response: failuresJSON{}}, func(r *Request) (any, error) {
		var b decisionsBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		items, err := b.decisions(false)
		if err != nil {
			return nil, err
		}
		fs, err := req.Deny(r.Context(), r.P, items)
		if err != nil {
			return nil, err
		}
		if len(fs) == len(items) {
			s.noteRefusal(r, "deny", fs)
		}
		return failuresOf(fs), nil
	})

	s.Handle(Op{Method: "POST", Path: "/subscription/approve/bulk", Summary: "Approve requests all at once (all or none)",
		Tag: tag, Body: bulkDecisionBody{}, Response: successJSON{}}, func(r *Request) (any, error) {
		var b bulkDecisionBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		if err := req.ApproveAll(r.Context(), r.P, requests.Selection{RequestIDs: b.RequestIDs, EntityID: b.ID,
			EntityType: b.Type, ModelType: b.ModelType}); err != nil {
			return nil, err
		}
		return successJSON{Success: true}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/subscription/deny/bulk", Summary: "Deny requests all at once (all or none), with the reason",
		Tag: tag, Body: bulkDecisionBody{}, Response: successJSON{}}, func(r *Request) (any, error) {
		var b bulkDecisionBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		if err := req.DenyAll(r.Context(), r.P, requests.Selection{RequestIDs: b.RequestIDs, EntityID: b.ID,
			EntityType: b.Type, ModelType: b.ModelType}, b.DenialReasoning); err != nil {
			return nil, err
		}
		return successJSON{Success: true}, nil
	})
}

// noteRefusal audits a request to approve or deny that changed nothing.
func (s *Server) noteRefusal(r *Request, action string, fs []requests.Failure) {
	msgs := make([]string, len(fs))
	for i, f := range fs {
		msgs[i] = f.ErrorMessage
	}
	_ = auditRefusal(r, action, msgs)
}

// subscribeBody is the body of POST /dataSource/subscribe.
type subscribeBody struct {
	DataSourceIDs []int64             `json:"dataSourceIds" doc:"the data sources (with the dataSourceId query parameter)"`
	Metadata      json.RawMessage     `json:"metadata" doc:"kept with the request"`
	Approvals     []requests.Approval `json:"approvals" doc:"the specific approvers, where the policy requires one"`
	GroupID       *int64              `json:"groupId" doc:"refused: groups are granted by owners (POST /dataSource/{id}/access)"`
	AccessGrant   string              `json:"accessGrant" doc:"custos addition: READ (default) or WRITE"`
	BackgroundJob bool                `json:"backgroundJob" doc:"accepted; subscriptions are made at once"`
}

type subscribeQuery struct {
	DataSourceID []int64 `query:"dataSourceId"`
}

// subscribedJSON is a subscription record with its approvals.
type subscribedJSON struct {
	subscriptionJSON
	Approvals []requests.Approval `json:"approvals" doc:"custos addition: the approvals a pending request needs"`
}

func subscribedOf(e *access.Entry, group *string) subscribedJSON {
	out := subscribedJSON{subscriptionJSON: subscriptionOf(e, group), Approvals: []requests.Approval{}}
	if len(e.Metadata) > 0 && !isNull(e.Metadata) {
		_ = json.Unmarshal(e.Metadata, &out.Metadata)
	}
	if len(e.Approvals) > 0 && !isNull(e.Approvals) {
		_ = json.Unmarshal(e.Approvals, &out.Approvals)
	}
	return out
}

type subscribeFailureJSON struct {
	ID           int64  `json:"id"`
	Name         string `json:"name,omitempty"`
	ErrorMessage string `json:"errorMessage"`
}

type subscribeJSON struct {
	InError []subscribeFailureJSON `json:"inError"`
	Success []subscribedJSON       `json:"success"`
}

type accessUpdateBody struct {
	State      string  `json:"state" required:"true" doc:"subscribed, owner, expert or denied"`
	Expiration *string `json:"expiration"`
}

type accessUpdatedJSON struct {
	subscribedJSON
	OriginalState string `json:"originalState"`
}

type contactJSON struct {
	Type    string `json:"type" doc:"profile or group"`
	ID      int64  `json:"id" doc:"the data source"`
	State   string `json:"state" doc:"owner or expert"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Profile *int64 `json:"profile"`
	Group   *int64 `json:"group,omitempty"`
}

type mineQuery struct {
	Database string   `query:"database" doc:"the remote database"`
	Table    []string `query:"table" doc:"remote or SQL table names"`
	Handler  string   `query:"handler" doc:"the technology"`
}

type mineJSON struct {
	ID            int64   `json:"id"`
	Name          string  `json:"name"`
	Type          string  `json:"type"`
	SQLTableName  *string `json:"sqlTableName"`
	SQLSchemaName *string `json:"sqlSchemaName"`
	BlobHandler   string  `json:"blobHandlerType"`
	SparkUseJDBC  bool    `json:"sparkUseJDBC"`
	AccessGrant   string  `json:"accessGrant" doc:"custos addition: READ or WRITE"`
}

type byPurposesQuery struct {
	Purposes         []string `query:"purposes" doc:"the purposes acted under"`
	ExcludedProjects []int64  `query:"excludedProjects" doc:"leave out the data sources of these projects"`
}

type restrictionJSON struct {
	Operator string   `json:"operator"`
	Purposes []string `json:"purposes"`
}

type byPurposeJSON struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	PolicyID     int64             `json:"policyId"`
	Restrictions []restrictionJSON `json:"restrictions"`
}

func (s *Server) dataSourceSubscriptionRoutes(acc *access.Service, prj *projects.Service) {
	const tag = "data source access"
	s.Handle(Op{Method: "POST", Path: "/dataSource/subscribe",
		Summary: "Subscribe to data sources as their subscription policies allow (at once, or a request that needs approval)",
		Tag:     tag, Query: subscribeQuery{}, Body: subscribeBody{}, Response: subscribeJSON{}}, func(r *Request) (any, error) {
		var q subscribeQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		var b subscribeBody
		if err := r.DecodeOptional(&b); err != nil {
			return nil, err
		}
		if b.GroupID != nil {
			return nil, errs.Field("groupId", errs.CodeInvalid, "groupId: groups do not request access; an owner grants a group with POST /dataSource/{id}/access")
		}
		ids := append(append([]int64{}, q.DataSourceID...), b.DataSourceIDs...)
		res, err := acc.Subscribe(r.Context(), r.P, ids, access.SubscribeInput{AccessGrant: b.AccessGrant, Approvals: b.Approvals,
			Metadata: b.Metadata})
		if err != nil {
			return nil, err
		}
		out := subscribeJSON{InError: []subscribeFailureJSON{}, Success: []subscribedJSON{}}
		for _, e := range res.Success {
			out.Success = append(out.Success, subscribedOf(e, nil))
		}
		for _, f := range res.InError {
			out.InError = append(out.InError, subscribeFailureJSON{ID: f.ID, Name: f.Name, ErrorMessage: f.Message})
		}
		if len(res.Success) == 0 {
			msgs := make([]string, len(res.InError))
			for i, f := range res.InError {
				msgs[i] = f.Message
			}
			if err := auditRefusal(r, "subscribe", msgs); err != nil {
				return nil, err
			}
		}
		return out, nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/dataSource/{dataSourceId}/unsubscribe", Summary: "End your subscription (or request) to a data source",
		Tag: tag, IntParams: []string{"dataSourceId"}, Response: successJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		if err := acc.Unsubscribe(r.Context(), r.P, id); err != nil {
			return nil, err
		}
		return successJSON{Success: true}, nil
	})

	s.Handle(Op{Method: "PUT", Path: "/dataSource/{dataSourceId}/access/{subscriptionId}",
		Summary: "Change someone's state on a data source (owners and governors; not your own)", Tag: tag,
		IntParams: []string{"dataSourceId", "subscriptionId"}, Body: accessUpdateBody{}, Response: accessUpdatedJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			sid, err := r.PathInt("subscriptionId")
			if err != nil {
				return nil, err
			}
			var b accessUpdateBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			exp, err := optionalTime(b.Expiration, "expiration")
			if err != nil {
				return nil, err
			}
			u, err := acc.UpdateState(r.Context(), r.P, id, sid, b.State, exp)
			if err != nil {
				return nil, err
			}
			return accessUpdatedJSON{subscribedJSON: subscribedOf(u.Entry, u.GroupName), OriginalState: u.OriginalState}, nil
		})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/contacts", Summary: "A data source's owners and experts",
		Tag: tag, IntParams: []string{"dataSourceId"}, Response: []contactJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		list, err := acc.Contacts(r.Context(), id)
		if err != nil {
			return nil, err
		}
		out := []contactJSON{}
		for _, c := range list {
			line := contactJSON{Type: "profile", ID: id, State: c.State, Name: c.Name, Email: c.Email}
			mid := c.ModelID
			if c.ModelType == access.ModelGroup {
				line.Type, line.Group = "group", &mid
			} else {
				line.Profile = &mid
			}
			out = append(out, line)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/rpc/mine", Summary: "The data sources you can query now", Tag: tag,
		Query: mineQuery{}, Response: []mineJSON{}}, func(r *Request) (any, error) {
		var q mineQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		held, err := acc.Mine(r.Context(), r.P, access.MineFilter{Database: q.Database, Tables: q.Table, Handler: q.Handler})
		if err != nil {
			return nil, err
		}
		out := []mineJSON{}
		for _, h := range held {
			d := h.DataSource
			out = append(out, mineJSON{ID: d.ID, Name: d.Name, Type: "queryable", SQLTableName: d.SQLTableName,
				SQLSchemaName: d.SQLSchemaName, BlobHandler: d.Technology, AccessGrant: h.AccessGrant})
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/byPurposes",
		Summary: "The data sources whose Purpose Restrictions the given purposes satisfy", Tag: tag,
		Query: byPurposesQuery{}, Response: []byPurposeJSON{}}, func(r *Request) (any, error) {
		var q byPurposesQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		list, err := prj.ByPurposes(r.Context(), q.Purposes, q.ExcludedProjects)
		if err != nil {
			return nil, err
		}
		out := []byPurposeJSON{}
		for _, m := range list {
			line := byPurposeJSON{ID: m.ID, Name: m.Name, PolicyID: m.PolicyID, Restrictions: []restrictionJSON{}}
			for _, rs := range m.Restrictions {
				line.Restrictions = append(line.Restrictions, restrictionJSON{Operator: rs.Operator, Purposes: nonNil(rs.Purposes)})
			}
			out = append(out, line)
		}
		return out, nil
	})
}

// auditRefusal records a change-shaped request that changed nothing because
// every item was refused.
func auditRefusal(r *Request, action string, reasons []string) error {
	return audit.Write(r.Context(), &r.server.DB.Queries, audit.Event{Type: "accessRequest", Action: action, Success: false,
		FailureReason: strings.Join(reasons, "; ")})
}

func itoa(i int) string { return strconv.Itoa(i) }

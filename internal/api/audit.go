package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

type auditQuery struct {
	Paging
	DataSourceID []int64   `query:"dataSourceId"`
	ProjectID    []int64   `query:"projectId"`
	ProfileID    []int64   `query:"profileId"`
	RecordType   []string  `query:"recordType" doc:"e.g. authenticate, permissionDenied, userCreate, auditQuery"`
	Outcome      []string  `query:"outcome" doc:"success or failure (true/false also accepted)"`
	MinDate      time.Time `query:"minDate" doc:"RFC 3339, YYYY-MM-DD or epoch milliseconds"`
	MaxDate      time.Time `query:"maxDate"`
	TargetType   string    `query:"targetType" doc:"custos extension: the kind of thing changed (user, group, tag, datasource, ...)"`
	TargetID     string    `query:"targetId" doc:"custos extension: which one"`
	BlobID       string    `query:"blobId" doc:"accepted for compatibility; custos has no blobs"`
	Purpose      []int64   `query:"purpose" doc:"accepted for compatibility"`
	SortField    string    `query:"sortField" doc:"dateTime (default), recordType or profileId"`
	SortOrder    string    `query:"sortOrder" doc:"desc (default) or asc"`
}

// auditJSON is an audit record. dateTime is epoch milliseconds as a string,
// as the reference shows it.
type auditJSON struct {
	ID             string     `json:"id"`
	DateTime       string     `json:"dateTime"`
	RecordType     string     `json:"recordType"`
	Action         *string    `json:"action"`
	Success        bool       `json:"success"`
	FailureReason  *string    `json:"failureReason"`
	ProfileID      *int64     `json:"profileId"`
	UserID         *string    `json:"userId"`
	IAMID          *string    `json:"iamId"`
	ImpersonatorID *int64     `json:"impersonatorId"`
	TargetType     *string    `json:"targetType"`
	TargetID       *string    `json:"targetId"`
	DataSourceID   *int64     `json:"dataSourceId"`
	DataSourceName *string    `json:"dataSourceName"`
	ProjectID      *int64     `json:"projectId"`
	ProjectName    *string    `json:"projectName"`
	PolicyID       *int64     `json:"policyId"`
	PolicyName     *string    `json:"policyName"`
	PurposeIDs     []int64    `json:"purposeIds"`
	SQLUser        *string    `json:"sqlUser"`
	RequestID      *string    `json:"requestId"`
	Method         *string    `json:"method"`
	Path           *string    `json:"path"`
	RemoteAddr     *string    `json:"remoteAddr"`
	Component      string     `json:"component"`
	Extra          store.JSON `json:"extra"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

func auditOf(r *store.AuditRecord) auditJSON {
	return auditJSON{ID: r.ID, DateTime: strconv.FormatInt(r.DateTime.UnixMilli(), 10), RecordType: r.RecordType,
		Action: r.Action, Success: r.Success, FailureReason: r.FailureReason, ProfileID: r.ProfileID, UserID: r.UserID,
		IAMID: r.IAMID, ImpersonatorID: r.ImpersonatorID, TargetType: r.TargetType, TargetID: r.TargetID,
		DataSourceID: r.DataSourceID, DataSourceName: r.DataSourceName, ProjectID: r.ProjectID, ProjectName: r.ProjectName,
		PolicyID: r.PolicyID, PolicyName: r.PolicyName, SQLUser: r.SQLUser, RequestID: r.RequestID, Method: r.Method,
		Path: r.Path, RemoteAddr: r.RemoteAddr, Component: "audit", Extra: r.Details, CreatedAt: r.DateTime,
		UpdatedAt: r.DateTime}
}

func (s *Server) auditRoutes() {
	const tag = "audit"
	s.Handle(Op{Method: "GET", Path: "/audit", Summary: "Search audit records", Tag: tag, Permission: auth.Audit,
		Query: auditQuery{}, Response: Page[auditJSON]{}}, func(r *Request) (any, error) {
		q := auditQuery{Paging: Paging{Size: 50}}
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(50, 10000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "dateTime", "recordType", "profileId"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, true)
		if err != nil {
			return nil, err
		}
		f := store.AuditFilter{DataSourceIDs: q.DataSourceID, ProjectIDs: q.ProjectID, ProfileIDs: q.ProfileID,
			RecordTypes: q.RecordType, TargetType: q.TargetType, TargetID: q.TargetID, SortField: q.SortField,
			Descending: desc, Offset: q.Offset, Size: q.Size}
		if !q.MinDate.IsZero() {
			f.MinDate = &q.MinDate
		}
		if !q.MaxDate.IsZero() {
			f.MaxDate = &q.MaxDate
		}
		if len(q.Outcome) > 0 {
			var succ, fail bool
			for _, o := range q.Outcome {
				switch strings.ToLower(o) {
				case "success", "true", "1":
					succ = true
				case "failure", "false", "0":
					fail = true
				default:
					return nil, errs.BadRequestf("query parameter outcome must be success or failure, not %q", o)
				}
			}
			if succ != fail {
				f.Success = &succ
			}
		}
		recs, total, err := audit.Search(r.Context(), &s.DB.Queries, r.P, f)
		if err != nil {
			return nil, err
		}
		page := Page[auditJSON]{Count: total, Hits: make([]auditJSON, len(recs))}
		for i, rec := range recs {
			page.Hits[i] = auditOf(rec)
		}
		return page, nil
	})

	s.Handle(Op{Method: "GET", Path: "/audit/{recordId}", Summary: "One audit record", Tag: tag, Permission: auth.Audit,
		Response: auditJSON{}}, func(r *Request) (any, error) {
		rec, err := audit.Get(r.Context(), &s.DB.Queries, r.P, r.Path("recordId"))
		if err != nil {
			return nil, err
		}
		return auditOf(rec), nil
	})
}

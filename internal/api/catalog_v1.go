package api

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/store"
)

type blobHandlerJSON struct {
	URL              string `json:"url" doc:"the data source's technology handler"`
	ManualDictionary bool   `json:"manualDictionary" doc:"the columns were listed by hand; schema monitoring leaves them"`
}

type checkJSON struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type statusInfoJSON struct {
	SQL checkJSON `json:"sql"`
}

type dsTagJSON struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	ModelType string `json:"modelType"`
	ModelID   string `json:"modelId"`
	AddedBy   *int64 `json:"addedBy"`
	Deleted   bool   `json:"deleted"`
	Context   string `json:"context" doc:"who attached it: manual, v2 (a V2 document), sdd (discovery) or schemaMonitoring"`
}

func dsTagsOf(list []*store.ModelTag) []dsTagJSON {
	out := make([]dsTagJSON, len(list))
	for i, m := range list {
		out[i] = dsTagJSON{Name: m.Tag.Name, Source: m.Source, ModelType: m.ModelType, ModelID: m.ModelID, AddedBy: m.AddedBy,
			Deleted: m.Tag.Deleted, Context: m.Context}
	}
	return out
}

// dataSourceJSON is the data source object of the /dataSource API.
type dataSourceJSON struct {
	ID                     int64              `json:"id"`
	Name                   string             `json:"name"`
	Description            *string            `json:"description"`
	Documentation          *string            `json:"documentation"`
	Type                   string             `json:"type"`
	RecordFormat           string             `json:"recordFormat"`
	BlobHandlerType        string             `json:"blobHandlerType"`
	BlobHandler            blobHandlerJSON    `json:"blobHandler"`
	SQLSchemaName          *string            `json:"sqlSchemaName"`
	SQLTableName           *string            `json:"sqlTableName"`
	SchemaProjectName      *string            `json:"schemaProjectName"`
	RemoteDatabase         *string            `json:"remoteDatabase"`
	RemoteSchema           *string            `json:"remoteSchema"`
	RemoteTable            *string            `json:"remoteTable"`
	RemoteKind             string             `json:"remoteKind" doc:"table, view, materialized view, partitioned table, foreign table, query, prefix or container"`
	Query                  *string            `json:"query"`
	ConnectionString       *string            `json:"connectionString"`
	ConnectionKey          *string            `json:"connectionKey"`
	ConnectionVerified     bool               `json:"connectionVerified" doc:"custos reached the database; false for technologies it does not connect to"`
	SchemaEvolutionID      *int64             `json:"schemaEvolutionId"`
	ColumnEvolutionEnabled bool               `json:"columnEvolutionEnabled"`
	Status                 string             `json:"status" doc:"passed or failed"`
	StatusInfo             statusInfoJSON     `json:"statusInfo"`
	Deleted                bool               `json:"deleted" doc:"disabled (soft-deleted); PUT with deleted false restores it"`
	Disabled               bool               `json:"disabled"`
	DisabledReason         *string            `json:"disabledReason" doc:"removed (its table disappeared) or user"`
	SubscriptionStatus     string             `json:"subscriptionStatus" doc:"the caller's relation to the data source"`
	SubscriptionType       *string            `json:"subscriptionType" doc:"automatic, approval, policy or manual; null when no policy says who may subscribe"`
	SubscriptionPolicy     any                `json:"subscriptionPolicy" doc:"the V1 subscription object of the policy deciding who may subscribe"`
	GlobalPolicies         any                `json:"globalPolicies" doc:"the global policies in force; null when none"`
	PolicyHandler          *policyHandlerJSON `json:"policyHandler" doc:"present when data policies (masks, row rules) apply"`
	PolicyHandlerType      string             `json:"policyHandlerType" doc:"Builder when data policies apply, else None"`
	Policy                 string             `json:"policy" doc:"None, No Conflict, or Conflict when a masking rule lost to another"`
	RowCount               *int64             `json:"rowCount" doc:"the remote row estimate at the last introspection"`
	RecordCount            int64              `json:"recordCount"`
	EventTime              *string            `json:"eventTime"`
	SDDTemplate            *string            `json:"sddTemplate" doc:"the identification framework applied; null uses the global one"`
	CatalogMetadata        store.JSON         `json:"catalogMetadata" doc:"what an external catalog keeps about the data source, as sent"`
	Tags                   []dsTagJSON        `json:"tags"`
	CreatedBy              *int64             `json:"createdBy"`
	CreatedAt              time.Time          `json:"createdAt"`
	UpdatedAt              time.Time          `json:"updatedAt"`
}

func handlerPath(technology string) string {
	for _, t := range catalog.Technologies {
		if t.Handler == technology {
			return t.Path
		}
	}
	switch technology {
	case catalog.TechS3:
		return "native-s3"
	case catalog.TechAzureBlob:
		return "azureblob"
	}
	return strings.ToLower(technology)
}

func dataSourceOf(v *catalog.View) dataSourceJSON {
	d := v.DS
	out := dataSourceJSON{ID: d.ID, Name: d.Name, Description: d.Description, Documentation: d.Documentation,
		Type: "queryable", RecordFormat: "Not Provided", BlobHandlerType: d.Technology,
		BlobHandler:   blobHandlerJSON{URL: "/" + handlerPath(d.Technology) + "/handler/" + idText(d.ID), ManualDictionary: d.ColumnsFixed},
		SQLSchemaName: d.SQLSchemaName, SQLTableName: d.SQLTableName, SchemaProjectName: d.SchemaProject,
		RemoteDatabase: d.RemoteDatabase, RemoteSchema: d.RemoteSchema, RemoteTable: d.RemoteTable, RemoteKind: d.RemoteKind,
		Query: d.Query, ConnectionVerified: v.Verified(), SchemaEvolutionID: d.ConnectionID,
		ColumnEvolutionEnabled: !d.ColumnsFixed && v.Conn != nil && v.Conn.SchemaMonitoring,
		Status:                 v.Health(), StatusInfo: statusInfoJSON{SQL: checkJSON{Status: v.Health(), Message: v.HealthMessage()}},
		Deleted: d.Status == store.DataSourceDisabled, Disabled: d.Status == store.DataSourceDisabled, DisabledReason: d.DisabledReason, SubscriptionStatus: v.Subscription,
		PolicyHandlerType: "None", Policy: "None", RowCount: d.RowEstimate, EventTime: d.EventTimeColumn,
		Tags: dsTagsOf(v.Tags), CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		CatalogMetadata: v.CatalogMetadata}
	if d.RecordFormat != nil {
		out.RecordFormat = *d.RecordFormat
	}
	if v.Framework != "" {
		out.SDDTemplate = &v.Framework
	}
	if v.Conn != nil {
		out.ConnectionString = v.Conn.ConnectionString
		if v.Conn.Origin == store.ConnectionV2 {
			out.ConnectionKey = &v.Conn.ConnectionKey
		}
	}
	if d.RemoteKind == "query" {
		out.RemoteTable = nil
	}
	return out
}

// policyHandlerJSON is the policyHandler of a data source object.
type policyHandlerJSON struct {
	HandlerID        *int64               `json:"handlerId" doc:"the newest version of the data source's own policy; null when only global policies apply"`
	DataSourceID     int64                `json:"dataSourceId"`
	VisibilitySchema visibilitySchemaJSON `json:"visibilitySchema"`
}

type visibilitySchemaJSON struct {
	Fields []string `json:"fields" doc:"always empty: custos keeps no visibility schema"`
}

// withPolicies fills the policy fields of a data source object.
func (o *dataSourceJSON) withPolicies(sum *governance.PolicySummary) {
	if sum == nil {
		return
	}
	if sum.SubscriptionType != "" {
		t := sum.SubscriptionType
		o.SubscriptionType = &t
	}
	o.SubscriptionPolicy = sum.SubscriptionPolicy
	if len(sum.Global) > 0 {
		o.GlobalPolicies = sum.Global
	}
	if sum.DataPolicies || sum.HandlerID != nil {
		o.PolicyHandler = &policyHandlerJSON{HandlerID: sum.HandlerID, DataSourceID: o.ID,
			VisibilitySchema: visibilitySchemaJSON{Fields: []string{}}}
		o.PolicyHandlerType = "Builder"
	}
	switch {
	case sum.Conflict:
		o.Policy = "Conflict"
	case sum.DataPolicies:
		o.Policy = "No Conflict"
	}
}

// dataSourceObjects renders data sources with the policies in force.
func (s *Server) dataSourceObjects(ctx context.Context, views []*catalog.View) ([]dataSourceJSON, error) {
	out := make([]dataSourceJSON, len(views))
	var sums map[int64]*governance.PolicySummary
	if s.policySummaries != nil && len(views) > 0 {
		ids := make([]int64, len(views))
		for i, v := range views {
			ids[i] = v.DS.ID
		}
		var err error
		if sums, err = s.policySummaries(ctx, ids); err != nil {
			return nil, err
		}
	}
	for i, v := range views {
		out[i] = dataSourceOf(v)
		out[i].withPolicies(sums[v.DS.ID])
	}
	return out, nil
}

// dataSourceObject renders one data source with the policies in force.
func (s *Server) dataSourceObject(ctx context.Context, v *catalog.View) (any, error) {
	out, err := s.dataSourceObjects(ctx, []*catalog.View{v})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func idText(id int64) string { return strconv.FormatInt(id, 10) }

type dataSourceSearchQuery struct {
	Paging
	BlobHandlerType          []string `query:"blobHandlerType" doc:"technologies, e.g. PostgreSQL, Snowflake"`
	Subscription             []string `query:"subscription" doc:"your relation: pending, owner, subscribed, not_subscribed, expert, ingest"`
	Status                   []string `query:"status" doc:"passed or failed"`
	Tag                      []string `query:"tag" doc:"a tag of the data source or one of its columns, or a tag below it"`
	SearchText               string   `query:"searchText" doc:"part of the name (or of the description unless nameOnly)"`
	Column                   []string `query:"column" doc:"column names"`
	ConnectionString         []string `query:"connectionString"`
	Schema                   string   `query:"schema" doc:"the remote schema"`
	NameOnly                 bool     `query:"nameOnly"`
	IDOnly                   bool     `query:"idOnly" doc:"return only ids and your relation"`
	DataSourceIDs            []int64  `query:"dataSourceIds"`
	SelectFields             []string `query:"selectFields" doc:"id, name or columnEvolutionEnabled"`
	SortField                string   `query:"sortField" doc:"createdAt, name (default), blobHandlerType, subscriptionStatus, recordCount, status, policy or editable"`
	SortOrder                string   `query:"sortOrder" doc:"asc (default) or desc"`
	Hostname                 string   `query:"hostname"`
	Mode                     *int     `query:"mode" doc:"0 (full, default) or 1 (count only)"`
	SDDTemplateName          string   `query:"sddTemplateName"`
	ExcludeSDDTemplateName   string   `query:"excludeSddTemplateName"`
	Ephemeral                *bool    `query:"ephemeral" doc:"custos has no ephemeral data sources"`
	ExcludedProjects         []int64  `query:"excludedProjects" doc:"not supported yet"`
	GlobalPolicy             string   `query:"globalPolicy" doc:"not supported yet"`
	DeterminePolicyConflicts bool     `query:"determinePolicyConflicts" doc:"not supported yet"`
	CollectionID             string   `query:"collectionId" doc:"custos has no domains"`
	ClusterName              string   `query:"clusterName" doc:"custos has no clusters"`
}

type dataSourceSearchJSON struct {
	Hits  []any `json:"hits"`
	Count int   `json:"count"`
}

type idOnlyJSON struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name,omitempty"`
	SubscriptionStatus string `json:"subscriptionStatus"`
}

// Bounds on the values of one array filter of a search, so that every
// search is a statement both stores run.
const (
	maxFilterValues = 100
	maxFilterIDs    = 1000
)

func (q *dataSourceSearchQuery) filter() (store.DataSourceFilter, error) {
	var f store.DataSourceFilter
	// Every data source asked for is served: a client that stops at a
	// short page would otherwise lose the rest without knowing it.
	if err := q.Paging.Check(10, math.MaxInt32); err != nil {
		return f, err
	}
	for _, p := range []struct {
		name   string
		values []string
	}{{"blobHandlerType", q.BlobHandlerType}, {"subscription", q.Subscription}, {"status", q.Status}, {"tag", q.Tag},
		{"column", q.Column}, {"connectionString", q.ConnectionString}, {"selectFields", q.SelectFields}} {
		if len(p.values) > maxFilterValues {
			return f, errs.BadRequestf("query parameter %s takes at most %d values, not %d", p.name, maxFilterValues, len(p.values))
		}
	}
	if len(q.DataSourceIDs) > maxFilterIDs {
		return f, errs.BadRequestf("query parameter dataSourceIds takes at most %d values, not %d", maxFilterIDs, len(q.DataSourceIDs))
	}
	switch {
	case len(q.ExcludedProjects) > 0, q.GlobalPolicy != "", q.DeterminePolicyConflicts:
		return f, errs.BadRequestf("query parameters excludedProjects, globalPolicy and determinePolicyConflicts are not supported yet")
	case q.CollectionID != "":
		return f, errs.BadRequestf("query parameter collectionId: custos has no domains")
	case q.Mode != nil && *q.Mode != 0 && *q.Mode != 1:
		return f, errs.BadRequestf("query parameter mode must be 0 (full) or 1 (count); tag, min-max and status modes are not supported")
	}
	for _, s := range q.Status {
		if err := OneOf("status", s, "passed", "failed"); err != nil {
			return f, err
		}
	}
	for _, s := range q.Subscription {
		if err := OneOf("subscription", s, "pending", "owner", "subscribed", "not_subscribed", "expert", "ingest"); err != nil {
			return f, err
		}
	}
	for _, s := range q.SelectFields {
		if err := OneOf("selectFields", s, "id", "name", "columnEvolutionEnabled"); err != nil {
			return f, err
		}
	}
	if err := OneOf("sortField", q.SortField, "createdAt", "name", "blobHandlerType", "subscriptionStatus", "recordCount",
		"status", "policy", "editable"); err != nil {
		return f, err
	}
	desc, err := SortOrder(q.SortOrder, false)
	if err != nil {
		return f, err
	}
	sort := q.SortField
	switch sort {
	case "subscriptionStatus", "editable":
		sort = "owned"
	case "policy":
		sort = "name" // no data source has data policies yet
	}
	f = store.DataSourceFilter{SearchText: q.SearchText, NameOnly: q.NameOnly, Technologies: q.BlobHandlerType,
		Tags: q.Tag, Columns: q.Column, ConnectionStrings: q.ConnectionString, Schema: q.Schema, Hostname: q.Hostname,
		SDDFramework: q.SDDTemplateName, NotSDDFramework: q.ExcludeSDDTemplateName, Subscription: q.Subscription,
		Sort: sort, Descending: desc, Offset: q.Offset, Size: q.Size}
	if len(q.Status) == 1 {
		f.Health = q.Status
	}
	if len(q.DataSourceIDs) > 0 {
		f.IDs = q.DataSourceIDs
	}
	if (q.Ephemeral != nil && *q.Ephemeral) || q.ClusterName != "" {
		f.IDs = []int64{} // custos has no ephemeral or cluster data sources
	}
	return f, nil
}

type dataSourceUpdateBody struct {
	Name          *string `json:"name"`
	Description   *string `json:"description"`
	Documentation *string `json:"documentation"`
	SQLTableName  *string `json:"sqlTableName"`
	SQLSchemaName *string `json:"sqlSchemaName"`
	RecordFormat  *string `json:"recordFormat"`
	EventTime     *string `json:"eventTime" doc:"the column holding each row's event time"`
	// CatalogMetadata is kept as sent; null removes it.
	CatalogMetadata json.RawMessage `json:"catalogMetadata" doc:"an object naming its provider; null removes it"`
	Deleted         *bool           `json:"deleted" doc:"false restores a disabled data source; true disables it"`
}

type dataSourceDeleteQuery struct {
	HardDelete bool `query:"hardDelete" doc:"delete the data source for good; without it the data source is disabled"`
}

type bulkBody struct {
	IDs    []int64 `json:"ids" required:"true"`
	Update *struct {
		Tags []struct {
			Name   string `json:"name"`
			Source string `json:"source"`
		} `json:"tags"`
	} `json:"update"`
}

type dataSourceTagsJSON struct {
	Tags []dsTagJSON `json:"tags"`
}

type searchTextQuery struct {
	SearchText string `query:"searchText" doc:"part of the value, any case"`
}

type nameCountJSON struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type valuesJSON struct {
	Values []nameCountJSON `json:"values"`
}

func valuesOf(list []catalog.NameCount) valuesJSON {
	out := valuesJSON{Values: make([]nameCountJSON, len(list))}
	for i, n := range list {
		out.Values[i] = nameCountJSON{Name: n.Name, Count: n.Count}
	}
	return out
}

func (s *Server) dataSourceRoutes() {
	const tag = "data sources"
	c := s.Catalog

	s.Handle(Op{Method: "GET", Path: "/dataSource", Summary: "Search the data sources you may see", Tag: tag,
		Query: dataSourceSearchQuery{}, Response: dataSourceSearchJSON{}}, func(r *Request) (any, error) {
		var q dataSourceSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		f, err := q.filter()
		if err != nil {
			return nil, err
		}
		if q.Mode != nil && *q.Mode == 1 {
			f.Size = 1
		}
		list, total, err := c.Search(r.Context(), r.P, f)
		if err != nil {
			return nil, err
		}
		if q.Mode != nil && *q.Mode == 1 {
			return dataSourceSearchJSON{Count: total, Hits: []any{}}, nil
		}
		slim := q.IDOnly || len(q.SelectFields) > 0 && !contains(q.SelectFields, "columnEvolutionEnabled")
		if slim {
			out := dataSourceSearchJSON{Count: total, Hits: make([]any, len(list))}
			for i, v := range list {
				h := idOnlyJSON{ID: v.DS.ID, SubscriptionStatus: v.Subscription}
				if contains(q.SelectFields, "name") {
					h.Name = v.DS.Name
				}
				out.Hits[i] = h
			}
			return out, nil
		}
		// A large page is written as it is rendered, a batch at a time.
		return Stream(func(w *StreamWriter) error {
			w.Raw(`{"hits":[`)
			for start := 0; start < len(list); start += streamBatch {
				objs, err := s.dataSourceObjects(r.Context(), list[start:min(start+streamBatch, len(list))])
				if err != nil {
					return err
				}
				for i, o := range objs {
					if start+i > 0 {
						w.Raw(",")
					}
					w.Value(o)
				}
			}
			w.Raw(`],"count":`)
			w.Value(total)
			w.Raw("}")
			return w.Err()
		}), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/dataSource/detectRemoteChanges", Summary: "Run schema monitoring now", Tag: tag,
		Body: catalog.DetectInput{}, Response: catalog.DetectResult{}}, func(r *Request) (any, error) {
		var b catalog.DetectInput
		if err := r.DecodeOptional(&b); err != nil {
			return nil, err
		}
		return c.DetectRemoteChanges(r.Context(), r.P, b)
	})

	s.Handle(Op{Method: "PUT", Path: "/dataSource/bulk/{type}", Summary: "Disable, restore, delete or tag data sources",
		Tag: tag, Body: bulkBody{}, Response: catalog.BulkResult{}}, func(r *Request) (any, error) {
		typ := r.Path("type")
		if err := OneOf("type", typ, catalog.BulkTypes...); err != nil {
			return nil, errs.BadRequestf("bulk type must be one of %s, not %q (add-users is served with data source access)",
				strings.Join(catalog.BulkTypes, ", "), typ)
		}
		var b bulkBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		var names []string
		if b.Update != nil {
			for _, t := range b.Update.Tags {
				names = append(names, t.Name)
			}
		}
		return c.Bulk(r.Context(), r.P, typ, b.IDs, names)
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/name/{dataSourceName}", Summary: "A data source by name", Tag: tag,
		Response: dataSourceJSON{}}, func(r *Request) (any, error) {
		v, err := c.GetByName(r.Context(), r.P, r.Path("dataSourceName"))
		if err != nil {
			return nil, err
		}
		return s.dataSourceObject(r.Context(), v)
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/sqlTableName/{shortName}", Summary: "A data source by SQL table name",
		Tag: tag, Response: dataSourceJSON{}}, func(r *Request) (any, error) {
		v, err := c.GetBySQLTableName(r.Context(), r.P, r.Path("shortName"))
		if err != nil {
			return nil, err
		}
		return s.dataSourceObject(r.Context(), v)
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}", Summary: "A data source", Tag: tag,
		IntParams: []string{"dataSourceId"}, Response: dataSourceJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		v, err := c.Get(r.Context(), r.P, id)
		if err != nil {
			return nil, err
		}
		return s.dataSourceObject(r.Context(), v)
	})

	s.Handle(Op{Method: "PUT", Path: "/dataSource/{dataSourceId}", Summary: "Change a data source's name, descriptions, SQL names or catalog metadata; disable or restore it",
		Tag: tag, IntParams: []string{"dataSourceId"}, Body: dataSourceUpdateBody{}, Response: dataSourceJSON{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			var b dataSourceUpdateBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			v, err := c.Update(r.Context(), r.P, id, catalog.Update{Name: b.Name, Description: b.Description,
				Documentation: b.Documentation, SQLTableName: b.SQLTableName, SQLSchemaName: b.SQLSchemaName,
				RecordFormat: b.RecordFormat, EventTime: b.EventTime, CatalogMetadata: b.CatalogMetadata, Deleted: b.Deleted})
			if err != nil {
				return nil, err
			}
			return s.dataSourceObject(r.Context(), v)
		})

	s.Handle(Op{Method: "DELETE", Path: "/dataSource/{dataSourceId}", Summary: "Disable a data source; delete it with hardDelete",
		Tag: tag, IntParams: []string{"dataSourceId"}, Query: dataSourceDeleteQuery{}, Response: catalog.V1DeleteResult{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("dataSourceId")
			if err != nil {
				return nil, err
			}
			var q dataSourceDeleteQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			return c.Delete(r.Context(), r.P, id, q.HardDelete)
		})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/tags", Summary: "Tags of a data source and of its columns",
		Tag: tag, IntParams: []string{"dataSourceId"}, Response: dataSourceTagsJSON{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		list, err := c.TagsOf(r.Context(), r.P, id)
		if err != nil {
			return nil, err
		}
		return dataSourceTagsJSON{Tags: dsTagsOf(list)}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/test", Summary: "Check that a data source still reads as registered",
		Tag: tag, IntParams: []string{"dataSourceId"}, Response: catalog.TestResult{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		return c.Test(r.Context(), r.P, id)
	})

	s.Handle(Op{Method: "GET", Path: "/schemas", Summary: "Remote schemas of data sources, with their counts", Tag: tag,
		Query: searchTextQuery{}, Response: valuesJSON{}}, func(r *Request) (any, error) {
		var q searchTextQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		list, err := c.Schemas(r.Context(), r.P, q.SearchText)
		if err != nil {
			return nil, err
		}
		return valuesOf(list), nil
	})

	s.Handle(Op{Method: "GET", Path: "/connectionStrings", Summary: "Connection strings of data sources, with their counts",
		Tag: tag, Query: searchTextQuery{}, Response: valuesJSON{}}, func(r *Request) (any, error) {
		var q searchTextQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		list, err := c.ConnectionStrings(r.Context(), r.P, q.SearchText)
		if err != nil {
			return nil, err
		}
		return valuesOf(list), nil
	})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

package api

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// The legacy per-technology V1 routes of PostgreSQL, which older scripts
// still call: /pg and /postgresql (the path data source objects name in
// blobHandler.url) register tables, show handler objects, list a database's
// tables and read a table's columns; GET /jobs follows the jobs of a
// connection string.

type remoteTablesQuery struct {
	Hostname string `query:"hostname" doc:"the database server"`
	Port     int    `query:"port" doc:"default 5432"`
	Username string `query:"username"`
	Password string `query:"password"`
	SSL      bool   `query:"ssl"`
	Schema   string `query:"schema" doc:"one schema; default every user schema"`
}

// columnTypesBody is {"handler": {"metadata": {...}}}, as a handler POST
// sends it, or the bare {"metadata": {...}}.
type columnTypesBody struct {
	Handler *struct {
		Metadata json.RawMessage `json:"metadata"`
	} `json:"handler"`
	Metadata json.RawMessage `json:"metadata"`
}

type connectionJobsQuery struct {
	Paging
	ConnectionString string `query:"connectionString" doc:"host:port/database of the connection whose jobs to list"`
	JobType          string `query:"jobType"`
	State            string `query:"state"`
}

func (s *Server) legacyPostgresRoutes() {
	const tag = "technology handlers"
	c := s.Catalog
	tech := catalog.PostgresHandler
	for _, base := range []string{"/pg", "/postgresql"} {
		s.Handle(Op{Method: "POST", Path: base + "/handler", Summary: "Register PostgreSQL tables (read from the database)",
			Tag: tag, Body: catalog.HandlerRequest{}, Response: handlerCreatedJSON{}}, func(r *Request) (any, error) {
			var b catalog.HandlerRequest
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			res, err := c.RegisterHandler(r.Context(), r.P, tech, b)
			if err != nil {
				return nil, err
			}
			out := handlerCreatedJSON{ConnectionString: res.ConnectionString, DataSources: res.DataSources, Warnings: res.Warnings}
			if len(res.DataSources) == 1 {
				out.ID, out.DataSourceID = &res.DataSources[0].ID, &res.DataSources[0].DataSourceID
			}
			return out, nil
		})
		s.Handle(Op{Method: "GET", Path: base + "/handler/{handlerId}", Summary: "The handler object of a PostgreSQL data source",
			Tag: tag, IntParams: []string{"handlerId"}, Response: catalog.HandlerView{}}, func(r *Request) (any, error) {
			id, err := r.PathInt("handlerId")
			if err != nil {
				return nil, err
			}
			return c.Handler(r.Context(), r.P, tech.Handler, tech.Path, id)
		})
		s.Handle(Op{Method: "POST", Path: base + "/handler/getColumnTypes", Summary: "The columns of a PostgreSQL table or query, read from the database",
			Tag: tag, Body: columnTypesBody{}, Response: []catalog.HandlerColumn{}, NoAudit: true}, func(r *Request) (any, error) {
			var b columnTypesBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			meta := b.Metadata
			if b.Handler != nil {
				meta = b.Handler.Metadata
			}
			return c.ColumnTypes(r.Context(), r.P, meta)
		})
		s.Handle(Op{Method: "GET", Path: base + "/database/{database}/table", Summary: "The tables of a PostgreSQL database (connection in the query)",
			Tag: tag, Query: remoteTablesQuery{}, Response: []catalog.RemoteTable{}}, func(r *Request) (any, error) {
			var q remoteTablesQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			conn := connector.Connection{Handler: connector.PostgreSQL, Hostname: q.Hostname, Port: q.Port,
				Database: r.Path("database"), Username: q.Username, Password: q.Password, SSL: q.SSL}
			if err := conn.Validate("connection"); err != nil {
				return nil, queryFields(err)
			}
			return c.RemoteTables(r.Context(), r.P, conn, q.Schema)
		})
	}

	s.Handle(Op{Method: "GET", Path: "/dataSource/blobHandlerTypes", Summary: "The technologies you may register data sources of",
		Tag: "data sources", Response: []string{}}, func(r *Request) (any, error) {
		if !r.P.Has(auth.CreateDataSource) {
			return []string{}, nil
		}
		out := []string{connector.PostgreSQL}
		for _, t := range catalog.Technologies {
			out = append(out, t.Handler)
		}
		return append(out, connector.BigQuery, catalog.TechS3, catalog.TechAzureBlob), nil
	})

	s.Handle(Op{Method: "GET", Path: "/jobs", Summary: "Jobs of the connections with a connection string (registration, discovery)",
		Tag: "jobs", Query: connectionJobsQuery{}, Response: jobSearchJSON{}}, func(r *Request) (any, error) {
		var q connectionJobsQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if q.ConnectionString == "" {
			return nil, errs.BadRequestf("query parameter connectionString is required (host:port/database); GET /jobs/search lists every job of yours")
		}
		if err := q.Paging.Check(25, 1000); err != nil {
			return nil, err
		}
		targets, err := c.JobTargets(r.Context(), r.P, q.ConnectionString)
		if err != nil {
			return nil, err
		}
		// Only the jobs of connections the caller may read are listed.
		f := store.JobFilter{Type: q.JobType, State: q.State, Targets: targets, Offset: q.Offset, Size: q.Size}
		found, total, err := s.DB.SearchJobs(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out := jobSearchJSON{Jobs: make([]jobJSON, len(found)), Count: total}
		for i, j := range found {
			out.Jobs[i] = jobOf(j)
		}
		if q.Offset+len(found) < total {
			next := fmt.Sprint(q.Offset + len(found))
			out.Next = &next
		}
		return out, nil
	})
}

// queryFields reports a connection block's problems as a bad query: the
// connection came in the query string.
func queryFields(err error) error {
	e := errs.As(err)
	if e.Kind != errs.Invalid || len(e.Fields) == 0 {
		return err
	}
	return errs.BadRequestf("query parameter %s: %s", strings.TrimPrefix(e.Fields[0].Field, "connection."), e.Fields[0].Message)
}

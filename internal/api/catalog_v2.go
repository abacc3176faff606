package api

import (
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog"
)

type v2DataQuery struct {
	DryRun bool `query:"dryRun" doc:"validate, connect and report what would change, changing nothing"`
	Wait   int  `query:"wait" doc:"seconds to wait for the data sources to be registered; negative waits until done"`
}

type v2DeleteQuery struct {
	DryRun bool `query:"dryRun" doc:"report what would be deleted, deleting nothing"`
}

type v2RenameBody struct {
	NewConnectionKey string `json:"newConnectionKey" required:"true"`
}

// waitFor turns a wait parameter in seconds into the duration jobs.Wait takes.
func waitFor(seconds int) time.Duration {
	if seconds < 0 {
		return -1
	}
	return time.Duration(seconds) * time.Second
}

func (s *Server) catalogV2Routes() {
	const tag = "data (V2)"
	c := s.Catalog

	s.Handle(Op{Method: "POST", Path: "/api/v2/data", Summary: "Create or update every data source of a connection key (JSON or YAML)",
		Tag: tag, Permission: auth.CreateDataSource, Query: v2DataQuery{}, Body: catalog.Document{}, Response: catalog.SaveResult{}},
		func(r *Request) (any, error) {
			var q v2DataQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			var doc catalog.Document
			if err := r.Decode(&doc); err != nil {
				return nil, err
			}
			return c.SaveV2(r.Context(), r.P, doc, catalog.SaveOptions{DryRun: q.DryRun, Wait: waitFor(q.Wait)})
		})

	s.Handle(Op{Method: "GET", Path: "/api/v2/data", Summary: "List the connection keys", Tag: tag,
		Response: []catalog.ConnectionSummary{}}, func(r *Request) (any, error) {
		return c.ListV2(r.Context(), r.P)
	})

	s.Handle(Op{Method: "GET", Path: "/api/v2/data/{connectionKey}", Summary: "The document of a connection key, without secrets",
		Tag: tag, Response: catalog.Document{}}, func(r *Request) (any, error) {
		return c.GetV2(r.Context(), r.P, r.Path("connectionKey"))
	})

	s.Handle(Op{Method: "GET", Path: "/api/v2/data/{connectionKey}/sources", Summary: "The data source names of a connection key",
		Tag: tag, Response: []string{}}, func(r *Request) (any, error) {
		return c.SourcesV2(r.Context(), r.P, r.Path("connectionKey"))
	})

	s.Handle(Op{Method: "DELETE", Path: "/api/v2/data/{connectionKey}", Summary: "Delete every data source of a connection key",
		Tag: tag, Query: v2DeleteQuery{}, Response: catalog.DeleteResult{}}, func(r *Request) (any, error) {
		var q v2DeleteQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		return c.DeleteV2(r.Context(), r.P, r.Path("connectionKey"), q.DryRun)
	})

	s.Handle(Op{Method: "POST", Path: "/api/v2/data/{connectionKey}/rename", Summary: "Rename a connection key", Tag: tag,
		Body: v2RenameBody{}, Response: catalog.RenameResult{}}, func(r *Request) (any, error) {
		var b v2RenameBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		return c.RenameV2(r.Context(), r.P, r.Path("connectionKey"), b.NewConnectionKey)
	})
}

package api

import (
	"encoding/json"

	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/connector"
)

// handlerCreatedJSON is the response of a handler POST: id and dataSourceId
// when one data source was registered, and always the list.
type handlerCreatedJSON struct {
	ID               *int64                   `json:"id,omitempty"`
	DataSourceID     *int64                   `json:"dataSourceId,omitempty"`
	ConnectionString string                   `json:"connectionString"`
	DataSources      []catalog.HandlerCreated `json:"dataSources"`
	Warnings         []string                 `json:"warnings"`
}

type handlerUpdatedJSON struct {
	ID       int64          `json:"id"`
	CA       []string       `json:"ca" doc:"custos does not connect to this technology, so it holds no certificate authority"`
	Metadata map[string]any `json:"metadata"`
}

type bulkHandlerBody struct {
	Handler struct {
		Metadata json.RawMessage `json:"metadata"`
	} `json:"handler"`
	ConnectionString string `json:"connectionString" required:"true"`
}

type s3CreatedJSON struct {
	DataSourceID   int64  `json:"dataSourceId"`
	Prefix         string `json:"prefix"`
	DataSourceName string `json:"dataSourceName"`
}

type azureBulkBody struct {
	Handler struct {
		Metadata connector.AzureBlobHandler `json:"metadata"`
	} `json:"handler"`
	ConnectionString string `json:"connectionString" required:"true"`
}

type azureUpdateBody struct {
	Handler struct {
		Metadata struct {
			connector.AzureBlobHandler
			DataSourceName string `json:"dataSourceName"`
		} `json:"metadata"`
	} `json:"handler"`
}

func (s *Server) handlerRoutes() {
	const tag = "technology handlers"
	c := s.Catalog
	for _, tech := range catalog.Technologies {
		base := "/" + tech.Path
		s.Handle(Op{Method: "POST", Path: base + "/handler", Summary: "Register " + tech.Handler + " tables (stored, not verified)",
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
		s.Handle(Op{Method: "GET", Path: base + "/handler/{handlerId}", Summary: "The handler object of a " + tech.Handler + " data source",
			Tag: tag, IntParams: []string{"handlerId"}, Response: catalog.HandlerView{}}, func(r *Request) (any, error) {
			id, err := r.PathInt("handlerId")
			if err != nil {
				return nil, err
			}
			return c.Handler(r.Context(), r.P, tech.Handler, tech.Path, id)
		})
		s.Handle(Op{Method: "PUT", Path: base + "/handler/{handlerId}", Summary: "Replace the handler metadata of a " + tech.Handler + " data source",
			Tag: tag, IntParams: []string{"handlerId"}, Body: catalog.HandlerUpdate{}, Response: handlerUpdatedJSON{}},
			func(r *Request) (any, error) {
				id, err := r.PathInt("handlerId")
				if err != nil {
					return nil, err
				}
				var b catalog.HandlerUpdate
				if err := r.Decode(&b); err != nil {
					return nil, err
				}
				v, err := c.UpdateHandler(r.Context(), r.P, tech, id, b)
				if err != nil {
					return nil, err
				}
				return handlerUpdatedJSON{ID: v.ID, CA: []string{}, Metadata: map[string]any{"columns": v.Metadata["columns"]}}, nil
			})
		s.Handle(Op{Method: "PUT", Path: base + "/bulk", Summary: "Change the connection settings of every " + tech.Handler + " data source of a connection string",
			Tag: tag, Body: bulkHandlerBody{}, Response: catalog.BulkHandlerResult{}}, func(r *Request) (any, error) {
			var b bulkHandlerBody
			if err := r.Decode(&b); err != nil {
				return nil, err
			}
			return c.BulkTechnologyHandler(r.Context(), r.P, tech, b.ConnectionString, b.Handler.Metadata)
		})
	}

	s.Handle(Op{Method: "POST", Path: "/native-s3/handler", Summary: "Register S3 prefixes of an S3 integration (stored, not verified)",
		Tag: tag, Body: connector.S3Handler{}, Response: s3CreatedJSON{}}, func(r *Request) (any, error) {
		var b connector.S3Handler
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		created, err := c.RegisterS3(r.Context(), r.P, b)
		if err != nil {
			return nil, err
		}
		out := make([]s3CreatedJSON, len(created))
		for i, x := range created {
			out[i] = s3CreatedJSON{DataSourceID: x.DataSourceID, Prefix: b.DataSources[i].Prefix, DataSourceName: x.Name}
		}
		if len(out) == 1 {
			return out[0], nil
		}
		return out, nil
	})
	s.Handle(Op{Method: "GET", Path: "/native-s3/handler/{handlerId}", Summary: "The handler object of an S3 data source",
		Tag: tag, IntParams: []string{"handlerId"}, Response: catalog.HandlerView{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("handlerId")
		if err != nil {
			return nil, err
		}
		return c.Handler(r.Context(), r.P, catalog.TechS3, "native-s3", id)
	})

	s.Handle(Op{Method: "POST", Path: "/azureblob/handler", Summary: "Register an Azure Blob Storage container (stored, not verified)",
		Tag: tag, Body: catalog.AzureBlobRequest{}, Response: catalog.HandlerCreated{}}, func(r *Request) (any, error) {
		var b catalog.AzureBlobRequest
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		return c.RegisterAzureBlob(r.Context(), r.P, b)
	})
	s.Handle(Op{Method: "GET", Path: "/azureblob/handler/{handlerId}", Summary: "The handler object of an Azure Blob data source",
		Tag: tag, IntParams: []string{"handlerId"}, Response: catalog.HandlerView{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("handlerId")
		if err != nil {
			return nil, err
		}
		return c.Handler(r.Context(), r.P, catalog.TechAzureBlob, "azureblob", id)
	})
	s.Handle(Op{Method: "PUT", Path: "/azureblob/handler/{handlerId}", Summary: "Replace the metadata of an Azure Blob data source",
		Tag: tag, IntParams: []string{"handlerId"}, Body: azureUpdateBody{}, Response: catalog.HandlerView{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("handlerId")
		if err != nil {
			return nil, err
		}
		var b azureUpdateBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		return c.UpdateAzureBlob(r.Context(), r.P, id, b.Handler.Metadata.AzureBlobHandler, b.Handler.Metadata.DataSourceName)
	})
	s.Handle(Op{Method: "PUT", Path: "/azureblob/bulk", Summary: "Replace the SAS token of every Azure Blob data source of a connection string",
		Tag: tag, Body: azureBulkBody{}, Response: catalog.BulkHandlerResult{}}, func(r *Request) (any, error) {
		var b azureBulkBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		return c.BulkAzureBlob(r.Context(), r.P, b.ConnectionString, b.Handler.Metadata)
	})
}

package api

import (
	"time"

	"github.com/custosdata/custos/internal/auditexport"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/store"
)

// exportConfigJSON is an audit export configuration as the reference's
// `immuta audit exportConfig get` shows it, plus custos's type and status.
type exportConfigJSON struct {
	ID                    string            `json:"id"`
	Interval              string            `json:"interval"`
	Enabled               bool              `json:"enabled"`
	EndpointConfiguration map[string]any    `json:"endpointConfiguration" doc:"the destination; __typename names its kind; secrets are never returned"`
	CreatedAt             time.Time         `json:"createdAt"`
	CreatedBy             auditexport.Actor `json:"createdBy"`
	UpdatedAt             time.Time         `json:"updatedAt"`
	UpdatedBy             auditexport.Actor `json:"updatedBy"`
	Type                  string            `json:"type" doc:"custos addition: s3, adls or local"`
	Status                exportStatusJSON  `json:"status" doc:"custos addition: how the exports went"`
}

type exportStatusJSON struct {
	State           string     `json:"state" doc:"pending, ok, error (retried) or notConnected (custos cannot deliver there)"`
	Message         string     `json:"message"`
	LastExportAt    *time.Time `json:"lastExportAt"`
	NextExportAt    *time.Time `json:"nextExportAt" doc:"null while disabled"`
	ExportedRecords int64      `json:"exportedRecords"`
	ExportedThrough time.Time  `json:"exportedThrough" doc:"time of the last record exported, or of the creation before any"`
}

type exportConfigBody struct {
	Type                  string         `json:"type" required:"true" doc:"s3, adls or local"`
	Interval              string         `json:"interval" required:"true" doc:"EVERY_HOUR, EVERY_2_HOURS, EVERY_6_HOURS, EVERY_12_HOURS or EVERY_24_HOURS"`
	Enabled               *bool          `json:"enabled" doc:"default true"`
	EndpointConfiguration map[string]any `json:"endpointConfiguration" required:"true" doc:"s3: bucket, path, region, accessKeyId, secretAccessKey (endpoint for S3-compatible services); adls: storageAccount, container, path, sasToken; local: directory (relative to the server's audit export directory)"`
}

func exportConfigOf(c *auditexport.Config) exportConfigJSON {
	endpoint := map[string]any{"__typename": auditexport.TypeName(c.Type)}
	for k, v := range c.Endpoint {
		endpoint[k] = v
	}
	st := exportStatusJSON{State: c.State, Message: c.Message, LastExportAt: c.LastRunAt, ExportedRecords: c.Exported,
		ExportedThrough: c.CursorTime}
	if c.Enabled {
		next := c.NextRunAt
		st.NextExportAt = &next
	}
	return exportConfigJSON{ID: c.ID, Interval: c.Interval, Enabled: c.Enabled, EndpointConfiguration: endpoint,
		CreatedAt: c.CreatedAt, CreatedBy: c.CreatedBy, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy, Type: c.Type,
		Status: st}
}

// AuditRecordJSON is an audit record as the API shows it; exports write
// records in this shape.
func AuditRecordJSON(r *store.AuditRecord) any { return auditOf(r) }

// AuditExportRoutes serves the audit export configurations.
func (s *Server) AuditExportRoutes(svc *auditexport.Service) {
	const tag = "audit export"
	s.Handle(Op{Method: "GET", Path: "/audit/exportConfig", Summary: "List the audit export configurations", Tag: tag,
		Permission: auth.Audit, Response: []exportConfigJSON{}}, func(r *Request) (any, error) {
		list, err := svc.List(r.Context(), r.P)
		if err != nil {
			return nil, err
		}
		out := make([]exportConfigJSON, len(list))
		for i, c := range list {
			out[i] = exportConfigOf(c)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/audit/exportConfig/{id}", Summary: "One audit export configuration", Tag: tag,
		Permission: auth.Audit, Response: exportConfigJSON{}}, func(r *Request) (any, error) {
		c, err := svc.Get(r.Context(), r.P, r.Path("id"))
		if err != nil {
			return nil, err
		}
		return exportConfigOf(c), nil
	})

	s.Handle(Op{Method: "POST", Path: "/audit/exportConfig", Summary: "Create an audit export configuration", Tag: tag,
		Permission: auth.Audit, Body: exportConfigBody{}, Response: exportConfigJSON{}}, func(r *Request) (any, error) {
		var b exportConfigBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		c, err := svc.Create(r.Context(), r.P, auditexport.Input{Type: b.Type, Interval: b.Interval, Enabled: b.Enabled,
			EndpointConfiguration: b.EndpointConfiguration})
		if err != nil {
			return nil, err
		}
		return exportConfigOf(c), nil
	})

	for _, verb := range []string{"enable", "disable"} {
		enabled := verb == "enable"
		s.Handle(Op{Method: "PUT", Path: "/audit/exportConfig/{id}/" + verb, Summary: verb + " an audit export configuration",
			Tag: tag, Permission: auth.Audit, Response: exportConfigJSON{}}, func(r *Request) (any, error) {
			c, err := svc.SetEnabled(r.Context(), r.P, r.Path("id"), enabled)
			if err != nil {
				return nil, err
			}
			return exportConfigOf(c), nil
		})
	}

	s.Handle(Op{Method: "DELETE", Path: "/audit/exportConfig/{id}", Summary: "Delete an audit export configuration",
		Tag: tag, Permission: auth.Audit}, func(r *Request) (any, error) {
		return nil, svc.Delete(r.Context(), r.P, r.Path("id"))
	})
}

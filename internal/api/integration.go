package api

import (
	"strings"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/enforce"
)

type integrationQuery struct {
	DryRun       bool `query:"dryRun" doc:"validate only; change nothing"`
	ForceDisable bool `query:"forceDisable" doc:"DELETE only: stop at once and remove nothing from the platform"`
}

// IntegrationRoutes serves the Integrations API.
func (s *Server) IntegrationRoutes(svc *enforce.Service) {
	s.preview = svc.Preview
	const tag = "integrations"
	perm := auth.ApplicationAdmin
	s.Handle(Op{Method: "GET", Path: "/integrations", Summary: "List the integrations", Tag: tag, Permission: perm,
		Response: []enforce.View{}}, func(r *Request) (any, error) {
		return svc.List(r.Context(), r.P)
	})
	s.Handle(Op{Method: "POST", Path: "/integrations", Summary: "Create an integration", Tag: tag, Permission: perm,
		Query: integrationQuery{}, Body: enforce.Request{}, Response: enforce.Outcome{}}, func(r *Request) (any, error) {
		var q integrationQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		var body enforce.Request
		if err := r.Decode(&body); err != nil {
			return nil, err
		}
		return svc.Create(r.Context(), r.P, &body, q.DryRun)
	})
	s.Handle(Op{Method: "GET", Path: "/integrations/{id}", Summary: "One integration", Tag: tag, Permission: perm,
		IntParams: []string{"id"}, Response: enforce.View{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("id")
		if err != nil {
			return nil, err
		}
		return svc.Get(r.Context(), r.P, id)
	})
	s.Handle(Op{Method: "PUT", Path: "/integrations/{id}", Summary: "Update an integration", Tag: tag, Permission: perm,
		IntParams: []string{"id"}, Query: integrationQuery{}, Body: enforce.Request{}, Response: enforce.Outcome{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("id")
		if err != nil {
			return nil, err
		}
		var q integrationQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		var body enforce.Request
		if err := r.Decode(&body); err != nil {
			return nil, err
		}
		return svc.Update(r.Context(), r.P, id, &body, q.DryRun)
	})
	s.Handle(Op{Method: "DELETE", Path: "/integrations/{id}", Summary: "Remove an integration and what it created", Tag: tag,
		Permission: perm, IntParams: []string{"id"}, Query: integrationQuery{}, Body: map[string]any{}, Response: enforce.Outcome{}},
		func(r *Request) (any, error) {
			id, err := r.PathInt("id")
			if err != nil {
				return nil, err
			}
			var q integrationQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			var creds map[string]any
			if err := r.DecodeOptional(&creds); err != nil {
				return nil, err
			}
			return svc.Delete(r.Context(), r.P, id, enforce.DeleteOptions{DryRun: q.DryRun, ForceDisable: q.ForceDisable, Credentials: creds})
		})
	s.Handle(Op{Method: "GET", Path: "/integrations/{id}/status", Summary: "An integration's status and each data source's", Tag: tag,
		Permission: perm, IntParams: []string{"id"}, Response: enforce.StatusView{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("id")
		if err != nil {
			return nil, err
		}
		return svc.Status(r.Context(), r.P, id)
	})
	s.Handle(Op{Method: "POST", Path: "/integrations/{id}/regenerate", Summary: "Regenerate a Trino integration's API key", Tag: tag,
		Permission: perm, IntParams: []string{"id"}, Response: map[string]string{}}, func(r *Request) (any, error) {
		id, err := r.PathInt("id")
		if err != nil {
			return nil, err
		}
		return svc.Regenerate(r.Context(), r.P, id)
	})
	script := func(kind string, withID bool) Handler {
		return func(r *Request) (any, error) {
			var id int64
			if withID {
				var err error
				if id, err = r.PathInt("id"); err != nil {
					return nil, err
				}
			}
			var body *enforce.Request
			raw, err := r.RawBody()
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(string(raw)) != "" {
				body = &enforce.Request{}
				if err := DecodeBody(r.Header.Get("Content-Type"), raw, body); err != nil {
					return nil, err
				}
			}
			sql, err := svc.Script(r.Context(), r.P, kind, id, body)
			if err != nil {
				return nil, err
			}
			if strings.Contains(r.Header.Get("Accept"), "application/json") {
				return map[string]string{"script": sql}, nil
			}
			return Raw{ContentType: "text/plain; charset=utf-8", Body: []byte(sql)}, nil
		}
	}
	for _, k := range []string{enforce.ScriptCreate, enforce.ScriptInitialCreate, enforce.ScriptCleanup, enforce.ScriptPostCleanup} {
		s.Handle(Op{Method: "POST", Path: "/integrations/scripts/" + k, Summary: "The " + k + " script of a manual setup (SQL, or {\"script\"} with Accept: application/json)",
			Tag: tag, Permission: perm, NoAudit: true, Body: enforce.Request{}}, script(k, false))
	}
	for _, k := range []string{enforce.ScriptEdit, enforce.ScriptDelete} {
		s.Handle(Op{Method: "POST", Path: "/integrations/{id}/scripts/" + k, Summary: "The " + k + " script of an integration (SQL, or {\"script\"} with Accept: application/json)",
			Tag: tag, Permission: perm, NoAudit: true, IntParams: []string{"id"}, Body: enforce.Request{}}, script(k, true))
	}
}

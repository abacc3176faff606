package enforce

import (
	"context"
	"errors"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// Preview is the PostgreSQL a data source's current plan renders to: what
// enforcement creates (or would create) in the governed database.
type Preview struct {
	// IntegrationID is the PostgreSQL integration governing the data
	// source; nil when none does, and the SQL is rendered with the default
	// names an integration would use.
	IntegrationID *int64 `json:"integrationId"`
	// View is the CREATE VIEW statement of the governed view.
	View string `json:"view"`
	// RowFilter is the USING (and WITH CHECK) expression of the restrictive row security
	// policy custos puts on the table; empty when the plan has no row rule
	// or the rules are in the view.
	RowFilter string   `json:"rowFilter,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Preview renders a PostgreSQL data source's plan as SQL, with the names of
// the integration governing it (or the defaults). Data sources of other
// technologies, and query data sources, have no preview (nil, nil).
func (s *Service) Preview(ctx context.Context, dataSourceID int64) (*Preview, error) {
	dec := s.decisionsOrNil()
	if dec == nil {
		return nil, errors.New("no policy decisions are connected")
	}
	d, err := s.db.GetDataSource(ctx, dataSourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("data source %d does not exist", dataSourceID)
	} else if err != nil {
		return nil, err
	}
	if d.Technology != TypePostgreSQL || d.RemoteSchema == nil || d.RemoteTable == nil || d.RemoteKind == "query" {
		return nil, nil
	}
	out := &Preview{}
	pc := postgresConfig(map[string]any{})
	if d.ConnectionID != nil {
		if conn, err := s.db.GetConnection(ctx, *d.ConnectionID); err == nil && conn.Database != nil {
			pc = postgresConfig(map[string]any{"database": *conn.Database})
		}
	}
	ins, err := s.db.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if in.Type != TypePostgreSQL {
			continue
		}
		cfg, _, err := s.config(in)
		if err != nil {
			return nil, err
		}
		cand := postgresConfig(cfg)
		governed, err := s.dataSources(ctx, cand)
		if err != nil {
			return nil, err
		}
		for _, g := range governed {
			if g.ID == d.ID {
				id := in.ID
				out.IntegrationID, pc = &id, cand
			}
		}
	}
	cols, err := s.db.ColumnsOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	table := d.RemoteKind == connector.KindTable || d.RemoteKind == connector.KindPartitionedTable
	src := pgsql.Source{DataSourceID: d.ID, Schema: *d.RemoteSchema, Table: *d.RemoteTable,
		RowsInView: !table, HasCTID: table || d.RemoteKind == connector.KindMaterializedView}
	for _, c := range cols[d.ID] {
		typ := c.DataType
		if c.RemoteType != nil {
			typ = *c.RemoteType
		}
		src.Columns = append(src.Columns, pgsql.Column{Name: c.Name, Kind: pgsql.KindOfName(typ)})
	}
	if len(src.Columns) == 0 {
		return nil, nil
	}
	plan, _ := dec.Plan(d.ID)
	r, err := pgsql.Render(pc.System(), src, pgsql.Target{Schema: pc.ViewSchema(*d.RemoteSchema), Name: *d.RemoteTable}, plan)
	if err != nil {
		return nil, err
	}
	out.View, out.RowFilter, out.Warnings = r.View, r.RowFilter, r.Warnings
	return out, nil
}

package catalog

import (
	"context"
	"errors"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// SampleDataSource reads up to size rows of a data source's table, view or
// query, for sensitive data discovery. It reports false, with no sample, for
// a data source custos cannot read (a technology that is not live, or one
// without a connection).
func (s *Service) SampleDataSource(ctx context.Context, d *store.DataSource, columns []string, size int) (*connector.Sample, bool, error) {
	if d.ConnectionID == nil {
		return nil, false, nil
	}
	conn, err := s.db.GetConnection(ctx, *d.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	if !connector.Live(conn.Technology) {
		return nil, false, nil
	}
	src, release, err := s.acquire(ctx, conn)
	if err != nil {
		return nil, false, err
	}
	defer release()
	opts := connector.SampleOptions{Size: size}
	if d.RemoteKind == kindQuery {
		sm, err := src.SampleQuery(ctx, connector.Query{SQL: deref(d.Query), Field: "query"}, opts)
		return sm, err == nil, err
	}
	ref := connector.TableRef{Schema: deref(d.RemoteSchema), Name: deref(d.RemoteTable), Field: "table"}
	if d.ColumnsFixed {
		opts.Columns = columns
	}
	sm, err := src.Sample(ctx, ref, opts)
	if errs.Is(err, errs.Invalid) && len(opts.Columns) > 0 {
		// A listed column is gone from the table; read what is there.
		opts.Columns = nil
		sm, err = src.Sample(ctx, ref, opts)
	}
	return sm, err == nil, err
}

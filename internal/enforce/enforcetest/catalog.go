package enforcetest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/store"
)

// Register stands in for the catalog: it introspects the PostgreSQL database
// dsn points to and stores a connection with one data source per table of
// the given schemas (named "<schema>.<table>"), with their columns. It
// returns the data source ids by name.
func Register(ctx context.Context, db *store.DB, dsn, connectionKey string, schemas ...string) (map[string]int64, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(u.Port())
	pw, _ := u.User.Password()
	c := connector.Connection{Handler: connector.PostgreSQL, Hostname: u.Hostname(), Port: port,
		Database: strings.TrimPrefix(u.Path, "/"), Username: u.User.Username(), Password: pw}
	src, err := connector.OpenPostgres(ctx, c, connector.Options{})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	tables, err := src.Tables(ctx, schemas...)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	host, p64, dbName, cs := c.Hostname, int64(port), c.Database, c.ConnectionString()
	conn := &store.Connection{ConnectionKey: connectionKey, Technology: connector.PostgreSQL, Hostname: &host, Port: &p64,
		Database: &dbName, ConnectionString: &cs, Config: store.JSON(`{}`), Verified: true, CreatedAt: now, UpdatedAt: now}
	out := map[string]int64{}
	err = db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateConnection(ctx, conn); err != nil {
			return err
		}
		for _, t := range tables {
			schema, table := t.Schema, t.Name
			kind := "table"
			if t.View {
				kind = "view"
			}
			ds := &store.DataSource{Name: schema + "." + table, ConnectionID: &conn.ID, Technology: connector.PostgreSQL,
				RemoteDatabase: &dbName, RemoteSchema: &schema, RemoteTable: &table, RemoteKind: kind,
				Status: store.DataSourceEnabled, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateDataSource(ctx, ds); err != nil {
				return err
			}
			var cols []store.Column
			for _, col := range t.Columns {
				rt := col.RemoteType
				cols = append(cols, store.Column{DataSourceID: ds.ID, Name: col.Name, Position: int64(col.Position),
					DataType: col.DataType, RemoteType: &rt, Nullable: col.Nullable, PrimaryKey: col.PrimaryKey, CreatedAt: now, UpdatedAt: now})
			}
			if err := tx.ReplaceColumns(ctx, ds.ID, cols); err != nil {
				return err
			}
			out[ds.Name] = ds.ID
		}
		return nil
	})
	return out, err
}

// Tag attaches a tag (created when missing) to a column of a data source.
func Tag(ctx context.Context, db *store.DB, dataSourceID int64, column, tag string) error {
	return db.InTx(ctx, func(tx *store.Tx) error {
		t, err := tx.GetTagByName(ctx, tag)
		if errors.Is(err, store.ErrNotFound) {
			now := store.Now()
			t = &store.Tag{Name: tag, Source: "curated", CreatedAt: now, UpdatedAt: now}
			if err = tx.CreateTag(ctx, t); err != nil {
				return fmt.Errorf("create tag %q: %w", tag, err)
			}
		} else if err != nil {
			return err
		}
		_, err = tx.AttachTag(ctx, &store.ModelTag{ModelType: "column", ModelID: store.ColumnModelID(dataSourceID, column),
			Tag: t, Source: "curated", CreatedAt: store.Now()})
		return err
	})
}

// Subscribe gives a user READ or WRITE on a data source.
func Subscribe(ctx context.Context, db *store.DB, dataSourceID, userID int64, grant string) error {
	now := store.Now()
	return db.PutAccess(ctx, &store.Access{DataSourceID: dataSourceID, ModelType: "user", ModelID: userID,
		State: store.AccessSubscribed, AccessGrant: grant, CreatedAt: now, UpdatedAt: now})
}

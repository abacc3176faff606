// Package connector reads the databases custos governs: it tests a
// connection, introspects schemas, tables, views and their columns, describes
// query sources, and reads small samples of column values for sensitive data
// discovery. It never writes to the database it reads.
//
// Only PostgreSQL is live (see Live). The other technologies a V2 payload
// may name are validated (Connection.Validate, S3Handler.Validate,
// AzureBlobHandler.Validate) but never contacted: custos does not pretend to
// connect to them or invent their columns.
//
// Errors a caller can fix are *errs.Error values of kind Invalid (422) that
// name the payload field to change: "connection.password",
// "connection.hostname", "sources[2].table", ... Errors of a reachable but
// failing server are Unavailable (503).
package connector

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/errs"
)

// Source is a database custos can read.
type Source interface {
	// Handler is the technology, as in Connection.Handler.
	Handler() string
	// Ping checks that the database answers with the configured credentials.
	Ping(ctx context.Context) error
	// Schemas lists the user schemas (system schemas excluded), sorted.
	Schemas(ctx context.Context) ([]string, error)
	// Tables lists every table and view of the given schemas with their
	// columns, sorted by schema then name; no schemas means all user schemas.
	Tables(ctx context.Context, schemas ...string) ([]Table, error)
	// LookupTables returns the named tables in the order given, and a 422
	// naming each ref's Field for tables or schemas that do not exist or
	// that the connecting role may not read.
	LookupTables(ctx context.Context, refs []TableRef) ([]Table, error)
	// DescribeQuery returns the columns a query would return, without
	// running it.
	DescribeQuery(ctx context.Context, q Query) ([]Column, error)
	// Sample reads up to opts.Size rows of a table or view.
	Sample(ctx context.Context, ref TableRef, opts SampleOptions) (*Sample, error)
	// SampleQuery runs a query source and reads up to opts.Size of its rows.
	SampleQuery(ctx context.Context, q Query, opts SampleOptions) (*Sample, error)
	// Close releases the connections.
	Close()
}

// TableRef names a table or view. Field is the payload path blamed when the
// table cannot be used (e.g. "sources[2]"); errors name Field+".table" or
// Field+".schema". An empty Field blames "sources[i]" with i the ref's index.
type TableRef struct {
	Schema string
	Name   string
	Field  string
}

// Query is a query source: a SQL statement that reads rows. Field is the
// payload path of the statement (e.g. "sources[3].query").
type Query struct {
	SQL   string
	Field string
}

// Relation kinds, as reported in Table.Kind.
const (
	KindTable            = "table"
	KindPartitionedTable = "partitioned table"
	KindView             = "view"
	KindMaterializedView = "materialized view"
	KindForeignTable     = "foreign table"
)

// Table is a table or view with its columns in table order.
type Table struct {
	Schema      string   `json:"schema"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	View        bool     `json:"view"`                  // a view or materialized view
	Description string   `json:"description,omitempty"` // the table's comment
	RowEstimate int64    `json:"rowEstimate"`           // from statistics; -1 when never analysed
	Readable    bool     `json:"readable"`              // the connecting role may SELECT from it
	Columns     []Column `json:"columns"`
}

// Column describes one column. DataType is a portable type family (text,
// integer, bigint, numeric, double precision, boolean, date, timestamp,
// time, interval, json, binary, uuid, inet, array, other); RemoteType is the
// database's own spelling with modifiers, e.g. "character varying(255)".
type Column struct {
	Name        string `json:"name"`
	Position    int    `json:"position"` // 1-based, in table order
	DataType    string `json:"dataType"`
	RemoteType  string `json:"remoteType"`
	Nullable    bool   `json:"nullable"`
	PrimaryKey  bool   `json:"primaryKey"`
	Description string `json:"description,omitempty"`
}

// SampleOptions says how much to read.
type SampleOptions struct {
	// Size is the number of rows to read; 0 means DefaultSampleSize and
	// values above MaxSampleSize are capped.
	Size int
	// Columns restricts a table sample to these columns; empty means all.
	Columns []string
	// Timeout bounds the sampling statement; 0 means the source's default.
	Timeout time.Duration
}

// Sample sizes.
const (
	DefaultSampleSize = 100
	MaxSampleSize     = 10000
)

func (o SampleOptions) size() int {
	switch {
	case o.Size <= 0:
		return DefaultSampleSize
	case o.Size > MaxSampleSize:
		return MaxSampleSize
	}
	return o.Size
}

// Sample is what was read from a table or query, column by column, with
// every value in the database's own text form.
type Sample struct {
	Rows    int             `json:"rows"`
	Columns []SampledColumn `json:"columns"`
}

// SampledColumn holds one column's non-null values in row order and how
// many sampled rows were NULL.
type SampledColumn struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	Nulls  int      `json:"nulls"`
}

// Column returns the sampled column with this exact name.
func (s *Sample) Column(name string) (SampledColumn, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return SampledColumn{}, false
}

// ErrNotLive is wrapped by the error Open returns for technologies custos
// validates but cannot reach.
var ErrNotLive = errors.New("technology is not live")

// Options tune a live source. Zero values mean the defaults.
type Options struct {
	ConnectTimeout   time.Duration // default 10s
	StatementTimeout time.Duration // per catalog or sampling statement; default 30s
	MaxConns         int32         // default 4
}

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 4
	}
	return o
}

// Open validates c (reporting paths under "connection"), connects, pings and
// checks that the connecting role can be confined to reading (a 422 on
// connection.username for a superuser; see confined). For a valid
// connection to a technology that is not live it returns a 422 on
// connection.handler wrapping ErrNotLive.
func Open(ctx context.Context, c Connection, opts Options) (Source, error) {
	if err := c.Validate("connection"); err != nil {
		return nil, err
	}
	if !Live(c.Handler) {
		e := errs.Field("connection.handler", errs.CodeInvalid,
			"custos cannot connect to %s; only %s sources are read live, so list the columns of each source in the payload",
			c.Handler, strings.Join(LiveHandlers(), ", "))
		e.Err = ErrNotLive
		return nil, e
	}
	p, err := OpenPostgres(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	if err := p.checkRole(ctx, p.pool); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

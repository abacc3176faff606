package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custosdata/custos/internal/enforce/pgsql"
)

// Bootstrap creates custos's system objects in one transaction: all of them
// or, when any statement fails, none. With dryRun the transaction is rolled
// back after every statement succeeded, which proves the setup would work.
func Bootstrap(ctx context.Context, d *Database, sys pgsql.System, o pgsql.BootstrapOptions, dryRun bool) error {
	stmts, err := pgsql.Bootstrap(sys, o)
	if err != nil {
		return err
	}
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st); err != nil {
			return statementError(err, st)
		}
	}
	if err := recordFunctions(ctx, tx, sys); err != nil {
		return err
	}
	if dryRun {
		return nil
	}
	return tx.Commit(ctx)
}

// statementError keeps the server's message and says which statement failed.
func statementError(err error, stmt string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		first := stmt
		if len(first) > 120 {
			first = first[:120] + "…"
		}
		return &SQLError{Code: pgErr.Code, Message: pgErr.Message, Statement: first}
	}
	return err
}

// SQLError is a statement the server refused.
type SQLError struct {
	Code      string // SQLSTATE
	Message   string
	Statement string
}

func (e *SQLError) Error() string {
	return fmt.Sprintf("%s (SQLSTATE %s) in: %s", e.Message, e.Code, e.Statement)
}

// Privilege reports whether the server refused for lack of a privilege.
func (e *SQLError) Privilege() bool { return e.Code == "42501" }

// functionsFingerprint hashes the definitions of custos's functions, and of
// the view its lookups read, as the server prints them (with their
// privileges), to notice one replaced by hand.
const functionsFingerprint = `
	SELECT pg_catalog.md5(pg_catalog.string_agg(pg_catalog.pg_get_functiondef(p.oid) || pg_catalog.array_to_string(COALESCE(p.proacl::text[], '{}'), ','), '|' ORDER BY p.proname)
		|| COALESCE((SELECT pg_catalog.pg_get_viewdef(c.oid) || pg_catalog.array_to_string(COALESCE(c.reloptions, '{}'), ',')
			|| pg_catalog.array_to_string(COALESCE(c.relacl::text[], '{}'), ',') || pg_catalog.pg_get_userbyid(c.relowner)
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace vn ON vn.oid = c.relnamespace
			WHERE vn.nspname = $1 AND c.relname = 'own_entitlements' AND c.relkind = 'v'), 'no view'))
	FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = $1 AND p.proname = ANY ($2::text[])`

func recordFunctions(ctx context.Context, q pgx.Tx, sys pgsql.System) error {
	_, err := q.Exec(ctx, `INSERT INTO `+sys.Table("meta")+` (key, value) VALUES ('functions', (`+functionsFingerprint+`))
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, sys.Schema, pgsql.FunctionNames)
	return err
}

// Problem is a check of a manual setup that failed, with how to fix it.
type Problem struct {
	Test    string
	Message string
}

// CheckManual verifies that a database administrator ran the setup script:
// the system role and schema exist, custos's tables are at this version (or
// one that enforcement upgrades by itself), and
// the connecting role may act as the system role.
func CheckManual(ctx context.Context, d *Database, sys pgsql.System) ([]Problem, error) {
	st, err := d.System(ctx, sys)
	if err != nil {
		return nil, err
	}
	var out []Problem
	if !st.RoleExists {
		out = append(out, Problem{"Validate Manual: System Role Exists", fmt.Sprintf("role %q does not exist: run the script from POST /integrations/scripts/create as a superuser", sys.Role)})
	}
	if !st.SchemaExists {
		out = append(out, Problem{"Validate Manual: System Schema Exists", fmt.Sprintf("schema %q does not exist: run the script from POST /integrations/scripts/create as a superuser", sys.Schema)})
	} else if st.SchemaOwnedBy != sys.Role {
		out = append(out, Problem{"Validate Manual: System Schema Exists", fmt.Sprintf("schema %q is owned by %q, not by %q: it was not created by custos's script; choose another config.systemSchema", sys.Schema, st.SchemaOwnedBy, sys.Role)})
	} else if st.Version != pgsql.Version && !pgsql.Upgradable(st.Version) {
		out = append(out, Problem{"Validate Manual: System Objects Version", fmt.Sprintf("schema %q holds custos objects of version %q, this custos needs %q: run the script from POST /integrations/scripts/create again after dropping the schema", sys.Schema, st.Version, pgsql.Version)})
	}
	if st.RoleExists && !st.MemberOfRole {
		out = append(out, Problem{"Validate Manual: Connecting Role Is A Member Of The System Role", fmt.Sprintf("role %q is not a member of %q: GRANT %s TO %s", d.cfg.Username, sys.Role, quoteOr(sys.Role), quoteOr(d.cfg.Username))})
	}
	return out, nil
}

// quoteOr quotes a name as an identifier. Names custos cannot use are
// refused before statements are built; one that gets here anyway is still
// quoted (the server then refuses or truncates it), never pasted.
func quoteOr(s string) string {
	if q, err := pgsql.Ident(s); err == nil {
		return q
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

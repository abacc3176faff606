package pgsql

import (
	"fmt"
	"regexp"
	"strings"
)

// Version of the system objects Bootstrap creates; stored in the meta table
// so that a newer custos can tell what it finds, and upgrade what Upgrade
// knows how to (see Upgradable).
//
// Versions: 1, the first; 2 adds the user's own groups and attributes
// (own_groups, own_attributes) to the entitlements table and the lookup
// own_entitlement, so that the views keep applying what a user's own
// entitlements bring under an equalized project; 3 makes the lookups
// inlinable SQL over the view own_entitlements instead of SECURITY DEFINER
// functions, which cost a function call and a plan each time a query ran
// them (hundreds of microseconds: more than a single-row write itself).
const Version = "3"

// Secret names in the secrets table. Database users can neither read the
// table nor name the schema it is in; views read it as their owner.
const (
	SecretHashSalt      = "hash_salt"      // Hash masking
	SecretReversibleKey = "reversible_key" // Reversible masking
	SecretFPMKey        = "fpm_key"        // Format Preserving Masking
	SecretRandomSeed    = "random_seed"    // Randomized Response
)

var secretNames = []string{SecretHashSalt, SecretReversibleKey, SecretFPMKey, SecretRandomSeed}

// Row-level security policy names custos puts on governed tables.
const (
	PolicyRowFilter  = "custos_row_filter"  // restrictive: the plan's row rules, for the system role
	PolicyViewAccess = "custos_view_access" // permissive: lets the system role (and writers, under the owner's row security) at the rows
	PolicyOthers     = "custos_others"      // permissive for everyone, only when custos enabled RLS itself
	// PolicyWriterPrefix begins the name of each writer's restrictive
	// policy: the writer's role (or a hash of a long one) follows.
	PolicyWriterPrefix = "custos_writer_"
)

// System names the objects custos owns in one governed database.
type System struct {
	Schema string // the system schema, e.g. "custos"
	Role   string // the NOLOGIN role owning every custos object, e.g. "custos_shop"
	// AuditRole, when set, is the pgaudit.role whose privileges select what
	// pgaudit logs.
	AuditRole string
}

var safeName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidName reports whether a name chosen for a custos object (system schema,
// system role) is a plain identifier: letters, digits and underscores, not
// starting with a digit, at most 63 bytes. Names of the governed data are
// not restricted; they are quoted.
func ValidName(s string) bool { return len(s) <= MaxIdentLen && safeName.MatchString(s) }

// Validate checks the names.
func (s System) Validate() error {
	for _, n := range []struct{ what, v string }{{"system schema", s.Schema}, {"system role", s.Role}} {
		if _, err := Ident(n.v); err != nil {
			return fmt.Errorf("%s: %w", n.what, err)
		}
	}
	if s.AuditRole != "" {
		if _, err := Ident(s.AuditRole); err != nil {
			return fmt.Errorf("audit role: %w", err)
		}
	}
	return nil
}

func (s System) obj(name string) string { return mustIdent(s.Schema) + "." + mustIdent(name) }

// Table returns the qualified name of a system table.
func (s System) Table(name string) string { return s.obj(name) }

// BootstrapOptions tune Bootstrap.
type BootstrapOptions struct {
	// Member is the role custos connects as; it is made a member of the
	// system role so that it can act as the owner of custos objects.
	Member string
	// Database is the governed database's name, needed to point pgaudit at
	// the audit role.
	Database string
}

// Bootstrap returns the statements that create custos's system objects, in
// order, meant to run in one transaction: the system role and schema, the
// entitlements, secrets and bookkeeping tables, the lookup and masking
// functions, and, when s.AuditRole is set, the audit role.
func Bootstrap(s System, o BootstrapOptions) ([]string, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	role, schema := mustIdent(s.Role), mustIdent(s.Schema)
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	add("CREATE ROLE %s NOLOGIN", role)
	if o.Member != "" && o.Member != s.Role {
		m, err := Ident(o.Member)
		if err != nil {
			return nil, fmt.Errorf("connecting role: %w", err)
		}
		add("GRANT %s TO %s", role, m)
	}
	add("CREATE SCHEMA %s AUTHORIZATION %s", schema, role)
	add("REVOKE ALL ON SCHEMA %s FROM PUBLIC", schema)
	// Everything else is created as the system role, which then owns it.
	add("SET LOCAL ROLE %s", role)
	out = append(out, systemTables(s)...)
	out = append(out, Functions(s)...)
	add(`INSERT INTO %s (name, value)
SELECT n, pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex')
FROM pg_catalog.unnest(%s) AS n`, s.obj("secrets"), mustTextArray(secretNames))
	add("INSERT INTO %s (key, value) VALUES ('version', %s)", s.obj("meta"), mustLiteral(Version))
	add("RESET ROLE")
	if s.AuditRole != "" {
		stmts, err := AuditSetup(s, o.Database)
		if err != nil {
			return nil, err
		}
		out = append(out, stmts...)
	}
	return out, nil
}

func mustLiteral(s string) string {
	l, err := Literal(s)
	if err != nil {
		panic(err)
	}
	return l
}

func mustTextArray(items []string) string {
	l, err := TextArray(items)
	if err != nil {
		panic(err)
	}
	return l
}

func systemTables(s System) []string {
	return []string{
		// One row per database role custos maps a user to: what the policy
		// engine evaluates that user with. groups and attributes are what
		// the user acts with (limited under an equalized project),
		// own_groups and own_attributes what they hold themselves (the
		// same when no limit applies).
		fmt.Sprintf(`CREATE TABLE %s (
    role_name name PRIMARY KEY,
    user_id bigint NOT NULL,
    username text NOT NULL,
    iam text NOT NULL,
    groups text[] NOT NULL,
    attributes jsonb NOT NULL,
    own_groups text[] NOT NULL,
    own_attributes jsonb NOT NULL,
    purposes text[] NOT NULL,
    acting text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
)`, s.obj("entitlements")),
		fmt.Sprintf(`CREATE TABLE %s (name text PRIMARY KEY, value bytea NOT NULL)`, s.obj("secrets")),
		fmt.Sprintf(`CREATE TABLE %s (key text PRIMARY KEY, value text NOT NULL)`, s.obj("meta")),
		// The views custos created, with fingerprints to spot changes made by hand.
		fmt.Sprintf(`CREATE TABLE %s (
    data_source_id bigint PRIMARY KEY,
    table_oid oid NOT NULL,
    view_oid oid NOT NULL,
    view_schema name NOT NULL,
    view_name name NOT NULL,
    rendered text NOT NULL,
    view_def text NOT NULL,
    filter_def text,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
)`, s.obj("views")),
		// The tables custos governs: whether it enabled row level security and
		// what PUBLIC could do before custos revoked it, to restore on removal.
		fmt.Sprintf(`CREATE TABLE %s (
    table_oid oid PRIMARY KEY,
    rls_enabled boolean NOT NULL,
    public_acl text[] NOT NULL
)`, s.obj("tables")),
		// Privileges custos granted on objects it does not own.
		fmt.Sprintf(`CREATE TABLE %s (
    kind text NOT NULL,
    object_oid oid NOT NULL,
    grantee name NOT NULL,
    privilege text NOT NULL,
    PRIMARY KEY (kind, object_oid, grantee, privilege)
)`, s.obj("grants")),
		// Value domains of columns masked by Randomized Response.
		fmt.Sprintf(`CREATE TABLE %s (
    data_source_id bigint NOT NULL,
    column_name name NOT NULL,
    vals text[] NOT NULL,
    lo double precision,
    hi double precision,
    refreshed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (data_source_id, column_name)
)`, s.obj("domains")),
	}
}

// Functions returns the CREATE OR REPLACE statements of the lookup and
// masking functions; running them again repairs a function changed by hand.
// Bodies are SQL-standard (BEGIN ATOMIC / RETURN): parsed once, at creation,
// so no name in them is looked up when they run.
func Functions(s System) []string {
	return []string{
		// The rows of the entitlements table a session may read: those of
		// the roles the session's user may act as. Owned by the system role
		// (which reads the table), security_barrier so that no function of
		// a user's query sees the other rows, and the only object of the
		// system schema anybody may read (nobody may use the schema: only
		// the lookups below name it).
		fmt.Sprintf(`CREATE OR REPLACE VIEW %s WITH (security_barrier) AS
SELECT e.role_name, e.username, e.iam, e.groups, e.attributes, e.own_groups, e.own_attributes, e.purposes, e.acting
FROM %s AS e
WHERE pg_catalog.pg_has_role(SESSION_USER, e.role_name, 'MEMBER')`, s.obj("own_entitlements"), s.obj("entitlements")),
		fmt.Sprintf(`GRANT SELECT ON %s TO PUBLIC`, s.obj("own_entitlements")),
		// The lookup: the entitlements of role r, defaults when custos has no
		// row for it (or the session may not act as r), so nobody reads
		// another role's row. An SQL function PostgreSQL inlines into the
		// queries that call it: views and row security policies call it in
		// InitPlans, once per query, at the cost of an index lookup.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(r name)
RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[])
LANGUAGE sql STABLE PARALLEL SAFE SECURITY INVOKER
BEGIN ATOMIC
    SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.groups, '{}'),
           COALESCE(e.attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}')
    FROM (SELECT 1) AS one
    LEFT JOIN %s AS e ON e.role_name = r;
END`, s.obj("entitlement"), s.obj("own_entitlements")),
		// The same row with the user's own groups and attributes instead
		// of those an equalized project limits them to: restrictions
		// (masks, row rules) that apply under either still apply. limited
		// says whether they differ, so that per-row work over the own row
		// is skipped, once per query, for everybody else.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(r name)
RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[], limited boolean)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY INVOKER
BEGIN ATOMIC
    SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.own_groups, '{}'),
           COALESCE(e.own_attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}'),
           COALESCE(e.own_groups IS DISTINCT FROM e.groups OR e.own_attributes IS DISTINCT FROM e.attributes, false)
    FROM (SELECT 1) AS one
    LEFT JOIN %s AS e ON e.role_name = r;
END`, s.obj("own_entitlement"), s.obj("own_entitlements")),
		// Hash: salted SHA-256, hex. Inlined into the views.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(v text, salt bytea) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.encode(pg_catalog.sha256(salt || pg_catalog.convert_to(v, 'UTF8')), 'hex')`, s.obj("mask_hash")),
		// XOR of two byte strings of the same length.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(a bytea, b bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.string_agg(pg_catalog.set_byte('\x00'::bytea, 0, pg_catalog.get_byte(a, i) # pg_catalog.get_byte(b, i)), ''::bytea ORDER BY i), ''::bytea)
    FROM pg_catalog.generate_series(0, pg_catalog.length(a) - 1) AS i;
END`, s.obj("xor_bytes")),
		// A keystream of n bytes: SHA-256 blocks of a key and a nonce.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(k bytea, nonce bytea, n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.substr(COALESCE(pg_catalog.string_agg(pg_catalog.sha256(k || nonce || pg_catalog.int4send(c)), ''::bytea ORDER BY c), ''::bytea), 1, n)
    FROM pg_catalog.generate_series(0, (n - 1) / 32) AS c;
END`, s.obj("keystream")),
		// Reversible: deterministic encryption with a synthetic nonce (the
		// first 16 bytes of SHA-256 of the first half of the key and the
		// value) and a SHA-256 keystream from the second half: equal values
		// give equal ciphertexts, so masked columns still join; only the key
		// reverses them. Output: "rev:" and base64 of nonce and ciphertext.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s(v text, k bytea) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'rev:' || pg_catalog.translate(pg_catalog.encode(x.nonce || %[2]s(x.m, %[3]s(pg_catalog.substr(k, 33, 32), x.nonce, pg_catalog.length(x.m))), 'base64'), pg_catalog.chr(10), '')
    FROM (SELECT pg_catalog.convert_to(v, 'UTF8') AS m, pg_catalog.substr(pg_catalog.sha256(pg_catalog.substr(k, 1, 32) || pg_catalog.convert_to(v, 'UTF8')), 1, 16) AS nonce) AS x;
END`, s.obj("mask_reversible"), s.obj("xor_bytes"), s.obj("keystream")),
		// Reversing needs the key: only roles an administrator grants EXECUTE
		// to. A value that was not produced with this key gives NULL.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %[1]s(v text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.substr(pg_catalog.sha256(pg_catalog.substr(k.value, 1, 32) || d.m), 1, 16) = d.nonce
                THEN pg_catalog.convert_from(d.m, 'UTF8') END
    FROM %[4]s AS k,
         LATERAL (SELECT pg_catalog.decode(pg_catalog.substr(v, 5), 'base64') AS raw) AS r,
         LATERAL (SELECT pg_catalog.substr(r.raw, 1, 16) AS nonce,
                         %[2]s(pg_catalog.substr(r.raw, 17), %[3]s(pg_catalog.substr(k.value, 33, 32), pg_catalog.substr(r.raw, 1, 16), pg_catalog.length(r.raw) - 16)) AS m) AS d
    WHERE k.name = %[5]s AND pg_catalog.left(v, 4) = 'rev:';
END`, s.obj("unmask_reversible"), s.obj("xor_bytes"), s.obj("keystream"), s.obj("secrets"), mustLiteral(SecretReversibleKey)),
		fmt.Sprintf(`REVOKE ALL ON FUNCTION %s(text) FROM PUBLIC`, s.obj("unmask_reversible")),
		// Format Preserving Masking: each digit becomes a digit and each ASCII
		// letter a letter of the same case, drawn from a keyed SHA-256 stream
		// of the whole value; everything else is kept. Deterministic, so
		// masked values still join; not reversible without the key.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(v text, k bytea) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH ks AS (
        SELECT pg_catalog.string_agg(pg_catalog.sha256(k || pg_catalog.int4send(b) || pg_catalog.convert_to(v, 'UTF8')), ''::bytea ORDER BY b) AS s
        FROM pg_catalog.generate_series(0, (pg_catalog.length(v) - 1) / 32) AS b
    ), chars AS (
        SELECT i, pg_catalog.substr(v, i, 1) AS c, pg_catalog.ascii(pg_catalog.substr(v, i, 1)) AS a
        FROM pg_catalog.generate_series(1, pg_catalog.length(v)) AS i
    )
    SELECT CASE WHEN v IS NULL THEN NULL ELSE COALESCE(pg_catalog.string_agg(CASE
        WHEN chars.a BETWEEN 48 AND 57 THEN pg_catalog.chr(48 + pg_catalog.get_byte(ks.s, chars.i - 1) %% 10)
        WHEN chars.a BETWEEN 97 AND 122 THEN pg_catalog.chr(97 + pg_catalog.get_byte(ks.s, chars.i - 1) %% 26)
        WHEN chars.a BETWEEN 65 AND 90 THEN pg_catalog.chr(65 + pg_catalog.get_byte(ks.s, chars.i - 1) %% 26)
        ELSE chars.c END, '' ORDER BY chars.i), v) END
    FROM ks, chars;
END`, s.obj("mask_fpm")),
		// A number in [0, 1) drawn from a keyed SHA-256 of tag: the coin of
		// Randomized Response, fixed per row so that repeating a query does
		// not average the noise away.
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s(seed bytea, tag text) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (('x' || pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(seed || pg_catalog.convert_to(tag, 'UTF8')), 1, 6), 'hex'))::bit(48)::bigint)::double precision / 281474976710656.0`,
			s.obj("unit_random")),
	}
}

// FunctionNames lists the functions Functions creates, for drift checks.
var FunctionNames = []string{"entitlement", "own_entitlement", "mask_hash", "xor_bytes", "keystream", "mask_reversible", "unmask_reversible", "mask_fpm", "unit_random"}

// Upgradable reports whether Upgrade can bring system objects of version v
// to Version.
func Upgradable(v string) bool { return v == "1" || v == "2" }

// Upgrade returns the statements that bring the system objects of version
// from up to Version, meant to run in one transaction by a member of the
// system role. Views keep working throughout: they are re-rendered
// afterwards like any view whose definition changed.
func Upgrade(s System, from string) ([]string, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !Upgradable(from) {
		return nil, fmt.Errorf("custos cannot upgrade system objects of version %q to %q", from, Version)
	}
	role, table := mustIdent(s.Role), s.obj("entitlements")
	out := []string{fmt.Sprintf("SET LOCAL ROLE %s", role)}
	if from == "1" {
		// 1 -> 2: the own entitlements. Rows written before hold no limit
		// custos knows of: their own entitlements are their entitlements
		// until custos writes them again (right after the upgrade).
		out = append(out,
			fmt.Sprintf("ALTER TABLE %s ADD COLUMN own_groups text[], ADD COLUMN own_attributes jsonb", table),
			fmt.Sprintf("UPDATE %s SET own_groups = groups, own_attributes = attributes", table),
			fmt.Sprintf("ALTER TABLE %s ALTER COLUMN own_groups SET NOT NULL, ALTER COLUMN own_attributes SET NOT NULL", table))
	}
	// 2 -> 3: the lookups become inlinable, over the view own_entitlements
	// (CREATE OR REPLACE keeps their names, arguments and results).
	out = append(out, Functions(s)...)
	out = append(out,
		fmt.Sprintf("UPDATE %s SET value = %s WHERE key = 'version'", s.obj("meta"), mustLiteral(Version)),
		"RESET ROLE")
	return out, nil
}

// AuditSetup creates the audit role and points pgaudit's object audit at it
// for the governed database (a superuser's statement).
func AuditSetup(s System, database string) ([]string, error) {
	if s.AuditRole == "" {
		return nil, nil
	}
	db, err := Ident(database)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	ar := mustIdent(s.AuditRole)
	return []string{
		fmt.Sprintf("CREATE ROLE %s NOLOGIN", ar),
		fmt.Sprintf("ALTER DATABASE %s SET pgaudit.role = %s", db, mustLiteral(s.AuditRole)),
	}, nil
}

// Script joins statements into a script a database administrator runs with
// psql: one transaction, standard-conforming strings.
func Script(title string, stmts []string) string {
	var b strings.Builder
	for _, line := range strings.Split(title, "\n") {
		b.WriteString("-- " + line + "\n")
	}
	b.WriteString("\\set ON_ERROR_STOP on\nSET standard_conforming_strings = on;\nBEGIN;\n")
	for _, st := range stmts {
		b.WriteString(st)
		b.WriteString(";\n")
	}
	b.WriteString("COMMIT;\n")
	return b.String()
}

// Cleanup returns the statements removing custos's system objects after a
// setup that failed before any view was created.
func Cleanup(s System, database string) []string {
	out := []string{"DROP SCHEMA IF EXISTS " + mustIdent(s.Schema) + " CASCADE"}
	if s.AuditRole != "" {
		if db, err := Ident(database); err == nil {
			out = append(out, "ALTER DATABASE "+db+" RESET pgaudit.role")
		}
		out = append(out, "DROP ROLE IF EXISTS "+mustIdent(s.AuditRole))
	}
	return append(out, "DROP ROLE IF EXISTS "+mustIdent(s.Role))
}

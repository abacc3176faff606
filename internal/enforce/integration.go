package enforce

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/errs"
)

// Integration types, spelled as the Integrations API spells them. PostgreSQL
// is custos's own: the one it runs live.
const (
	TypePostgreSQL = "PostgreSQL"
	TypeSnowflake  = "Snowflake"
	TypeDatabricks = "Databricks"
	TypeRedshift   = "Redshift"
	TypeSynapse    = "Azure Synapse Analytics"
	TypeBigQuery   = "Google BigQuery"
	TypeS3         = "Native S3"
	TypeTrino      = "Trino"
)

// Types lists the accepted types.
var Types = []string{TypeSynapse, TypeDatabricks, TypeBigQuery, TypeS3, TypePostgreSQL, TypeRedshift, TypeSnowflake, TypeTrino}

// Statuses of an integration, as documented.
const (
	StatusCreating     = "creating"
	StatusEnabled      = "enabled"
	StatusEditing      = "editing"
	StatusDeleting     = "deleting"
	StatusDeleted      = "deleted"
	StatusDisabled     = "disabled"
	StatusCreateError  = "createError"
	StatusEditError    = "editError"
	StatusDeleteError  = "deleteError"
	StatusRecurringErr = "recurringValidationError"
)

// busy statuses refuse edits and deletes (409).
var busy = map[string]bool{StatusCreating: true, StatusEditing: true, StatusDeleting: true}

// live statuses are integrations custos keeps enforcing.
var live = map[string]bool{StatusCreating: true, StatusEnabled: true, StatusEditing: true, StatusCreateError: true,
	StatusEditError: true, StatusRecurringErr: true}

// Redacted replaces secrets in responses; sent back in an update it keeps
// the stored value.
const Redacted = "<REDACTED>"

// Request is the body of POST and PUT /integrations and of the script
// endpoints.
type Request struct {
	Type          string         `json:"type"`
	AutoBootstrap *bool          `json:"autoBootstrap"`
	Config        map[string]any `json:"config"`
}

// spec describes one integration type's configuration.
type spec struct {
	validate func(v *cfgValidator, auto bool)
	// secrets are the dotted paths of secret fields: sealed, never returned.
	secrets []string
	// fixed fields may not change in an update.
	fixed []string
	// target names the platform; one integration per type and target.
	target func(c map[string]any) string
	// defaults fill what the response shows when the request omits it.
	defaults map[string]any
	// autoAllowed says which autoBootstrap values the type accepts.
	mustBeManual bool
}

var specs = map[string]*spec{
	TypePostgreSQL: {
		validate: validatePostgres,
		secrets:  []string{"password"},
		fixed:    []string{"host", "port", "database", "systemSchema", "systemRole"},
		target: func(c map[string]any) string {
			return fmt.Sprintf("%s:%v/%s", strings.ToLower(str(c, "host")), num(c, "port"), str(c, "database"))
		},
	},
	TypeSnowflake: {
		validate: func(v *cfgValidator, auto bool) {
			v.required("host", "warehouse", "database")
			switch v.enum("authenticationType", true, "userPassword", "keyPair", "oAuthClientCredentials") {
			case "userPassword":
				v.required("username", "password")
			case "keyPair":
				v.required("privateKey")
			case "oAuthClientCredentials":
				v.object("oAuthClientConfig", true, "provider", "clientId", "authorityUrl")
				if auto {
					v.add("autoBootstrap", "autoBootstrap must be false with oAuthClientCredentials authentication")
				}
			}
			if auto {
				v.required("role")
			}
			v.port()
		},
		secrets:  []string{"password", "privateKey", "oAuthClientConfig.clientSecret", "oAuthClientConfig.oauthPrivateKey"},
		fixed:    []string{"host", "database"},
		target:   func(c map[string]any) string { return strings.ToLower(str(c, "host")) },
		defaults: map[string]any{"port": 443, "audit": map[string]any{"enabled": false}, "workspaces": map[string]any{"enabled": false}, "impersonation": map[string]any{"enabled": false}, "lineage": map[string]any{"enabled": false}},
	},
	TypeDatabricks: {
		validate: func(v *cfgValidator, auto bool) {
			v.required("workspaceUrl", "httpPath")
			switch v.enum("authenticationType", true, "token", "oAuthM2M") {
			case "token":
				v.required("token")
			case "oAuthM2M":
				v.object("oAuthClientConfig", true, "clientId", "clientSecret", "authorityUrl")
			}
			if c := str(v.cfg, "catalog"); c != "" && !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(c) {
				v.add("catalog", "config.catalog may hold only letters, numbers and underscores and cannot start with a number")
			}
			v.port()
		},
		secrets:  []string{"token", "oAuthClientConfig.clientSecret", "proxyOptions.password"},
		fixed:    []string{"workspaceUrl", "catalog"},
		target:   func(c map[string]any) string { return strings.ToLower(str(c, "workspaceUrl")) },
		defaults: map[string]any{"port": 443, "catalog": "immuta", "audit": map[string]any{"enabled": false}},
	},
	TypeRedshift: {
		validate: func(v *cfgValidator, auto bool) {
			v.required("host", "database")
			if auto {
				v.required("initialDatabase")
			}
			switch v.enum("authenticationType", true, "userPassword", "accessKey", "okta") {
			case "userPassword":
				v.required("username", "password")
			case "accessKey":
				v.required("databaseUser", "accessKeyId", "secretKey")
			case "okta":
				v.object("okta", true, "username", "password", "appId", "idpHost", "role")
			}
			v.port()
		},
		secrets:  []string{"password", "secretKey", "sessionToken", "okta.password"},
		fixed:    []string{"host", "database"},
		target:   func(c map[string]any) string { return strings.ToLower(str(c, "host")) },
		defaults: map[string]any{"port": 5439, "impersonation": map[string]any{"enabled": false}},
	},
	TypeSynapse: {
		validate: func(v *cfgValidator, auto bool) {
			v.required("host", "database", "schema", "username", "password")
			v.enum("authenticationType", true, "userPassword")
			if d, ok := v.cfg["metadataDelimiters"].(map[string]any); ok {
				if h, a := str(d, "hashDelimiter"), str(d, "arrayDelimiter"); h != "" && h == a {
					v.add("metadataDelimiters", "Hash delimiter and array delimiter must not have the same value.")
				}
			}
			v.port()
		},
		secrets:  []string{"password"},
		fixed:    []string{"host", "database", "schema"},
		target:   func(c map[string]any) string { return strings.ToLower(str(c, "host")) },
		defaults: map[string]any{"port": 1433, "impersonation": map[string]any{"enabled": false}},
	},
	TypeBigQuery: {
		validate: func(v *cfgValidator, auto bool) {
			v.required("role", "datasetSuffix", "location", "credential")
			if s := str(v.cfg, "datasetSuffix"); s != "" && !strings.HasPrefix(s, "_") {
				v.add("datasetSuffix", "config.datasetSuffix must start with an underscore")
			}
			if c := str(v.cfg, "credential"); c != "" {
				var key map[string]any
				if err := json.Unmarshal([]byte(c), &key); err != nil {
					v.add("credential", "config.credential must be the service account's JSON key file, as a string")
				}
			}
		},
		secrets:      []string{"credential"},
		fixed:        []string{"dataset", "location"},
		mustBeManual: true,
		target: func(c map[string]any) string {
			var key map[string]any
			_ = json.Unmarshal([]byte(str(c, "credential")), &key)
			if p := str(key, "project_id"); p != "" {
				return p
			}
			return str(c, "dataset")
		},
		defaults: map[string]any{"port": 443, "dataset": "immuta"},
	},
	TypeS3: {
		validate: func(v *cfgValidator, auto bool) {
			v.required("name", "awsAccountId", "awsRegion", "awsLocationRole", "awsLocationPath")
			if r := str(v.cfg, "awsLocationRole"); r != "" && !regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`).MatchString(r) {
				v.add("awsLocationRole", "The specified access grants location role is not a valid ARN format.")
			}
			switch v.enum("authenticationType", true, "auto", "accessKey") {
			case "accessKey":
				v.required("awsAccessKeyId", "awsSecretAccessKey")
			case "auto":
				v.required("awsRoleToAssume")
			}
			v.port()
		},
		secrets:      []string{"awsSecretAccessKey"},
		fixed:        []string{"awsRoleToAssume", "awsAccountId", "awsRegion", "awsLocationRole", "awsLocationPath"},
		mustBeManual: true,
		target:       func(c map[string]any) string { return str(c, "awsLocationPath") },
		defaults:     map[string]any{"port": 443},
	},
	TypeTrino: {
		validate: func(v *cfgValidator, auto bool) {},
		secrets:  []string{"apiKey"},
		target:   func(c map[string]any) string { return "trino" },
	},
}

// cfgValidator collects the problems of a configuration, naming each field.
type cfgValidator struct {
	cfg  map[string]any
	errs errs.List
}

func (v *cfgValidator) add(field, format string, args ...any) {
	path := "config." + field
	if field == "autoBootstrap" || field == "type" {
		path = field
	}
	v.errs.Add(path, errs.CodeInvalid, format, args...)
}

func (v *cfgValidator) required(fields ...string) {
	for _, f := range fields {
		switch x := v.cfg[f].(type) {
		case nil:
			v.errs.Add("config."+f, errs.CodeRequired, "config.%s is required", f)
		case string:
			if strings.TrimSpace(x) == "" {
				v.errs.Add("config."+f, errs.CodeRequired, "config.%s is required", f)
			}
		default:
			v.errs.Add("config."+f, errs.CodeType, "config.%s must be a string", f)
		}
	}
}

func (v *cfgValidator) enum(field string, required bool, allowed ...string) string {
	x, present := v.cfg[field]
	s, ok := x.(string)
	switch {
	case !present || x == nil:
		if required {
			v.errs.Add("config."+field, errs.CodeRequired, "config.%s is required: one of %s", field, strings.Join(allowed, ", "))
		}
		return ""
	case !ok:
		v.errs.Add("config."+field, errs.CodeType, "config.%s must be a string", field)
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	v.errs.Add("config."+field, errs.CodeEnum, "config.%s must be one of %s, not %q", field, strings.Join(allowed, ", "), s)
	return ""
}

func (v *cfgValidator) object(field string, required bool, keys ...string) {
	o, ok := v.cfg[field].(map[string]any)
	if !ok {
		if v.cfg[field] != nil {
			v.errs.Add("config."+field, errs.CodeType, "config.%s must be an object", field)
		} else if required {
			v.errs.Add("config."+field, errs.CodeRequired, "config.%s is required", field)
		}
		return
	}
	for _, k := range keys {
		if s, _ := o[k].(string); strings.TrimSpace(s) == "" {
			v.errs.Add("config."+field+"."+k, errs.CodeRequired, "config.%s.%s is required", field, k)
		}
	}
}

func (v *cfgValidator) port() {
	x, ok := v.cfg["port"]
	if !ok || x == nil {
		return
	}
	f, isNum := x.(float64)
	if !isNum || f != math.Trunc(f) || f < 0 || f > 65535 {
		v.errs.Add("config.port", errs.CodeInvalid, "config.port must be a number from 0 to 65535")
	}
}

func (v *cfgValidator) boolean(field string) bool {
	x, ok := v.cfg[field]
	if !ok || x == nil {
		return false
	}
	b, isBool := x.(bool)
	if !isBool {
		v.errs.Add("config."+field, errs.CodeType, "config.%s must be true or false", field)
	}
	return b
}

func str(c map[string]any, k string) string {
	s, _ := c[k].(string)
	return s
}

func num(c map[string]any, k string) int {
	f, _ := c[k].(float64)
	return int(f)
}

// DefaultViewSchemaFormat names the schema of the views: the view of
// app.customers is app_governed.customers.
const DefaultViewSchemaFormat = "<schema>_governed"

// DefaultUserRoleTemplate maps a user without a profile sqlUser to a role.
const DefaultUserRoleTemplate = "{username}"

// PostgresConfig is a PostgreSQL integration's configuration, defaults filled.
type PostgresConfig struct {
	Host               string `json:"host"`
	Port               int    `json:"port"`
	Database           string `json:"database"`
	SSL                bool   `json:"ssl"`
	AuthenticationType string `json:"authenticationType"`
	Username           string `json:"username"`
	Password           string `json:"password,omitempty"`
	// ViewSchemaFormat names each view's schema from its table's: <schema> is
	// replaced.
	ViewSchemaFormat string `json:"viewSchemaFormat"`
	// SystemSchema and SystemRole are custos's own schema and role.
	SystemSchema string `json:"systemSchema"`
	SystemRole   string `json:"systemRole"`
	// UserRoleTemplate maps users without a profile sqlUser to a database
	// role ({username} is the user's id); empty maps nobody that way.
	UserRoleTemplate string      `json:"userRoleTemplate"`
	Audit            AuditConfig `json:"audit"`
}

// AuditConfig says whether and how custos ingests the queries run against
// governed objects.
type AuditConfig struct {
	Enabled bool `json:"enabled"`
	// LogPath is the PostgreSQL server's log file as custos can read it (the
	// same host or a shared mount). Empty: custos reads the server's current
	// log file with pg_read_binary_file, which needs a superuser or a member
	// of pg_read_server_files, and the server's logging collector.
	LogPath string `json:"logPath,omitempty"`
}

// System returns the names of custos's objects in the database.
func (c PostgresConfig) System() pgsql.System {
	s := pgsql.System{Schema: c.SystemSchema, Role: c.SystemRole}
	if c.Audit.Enabled {
		s.AuditRole = auditRole(c.SystemRole)
	}
	return s
}

func auditRole(system string) string {
	r := system + "_audit"
	if len(r) > pgsql.MaxIdentLen {
		r = system[:pgsql.MaxIdentLen-len("_audit")] + "_audit"
	}
	return r
}

// ViewSchema names the schema of the views of tables in schema.
func (c PostgresConfig) ViewSchema(schema string) string {
	return strings.ReplaceAll(c.ViewSchemaFormat, "<schema>", schema)
}

// defaultSystemRole is custos_<database>, reduced to a plain identifier:
// roles are shared by every database of a server.
func defaultSystemRole(database string) string {
	var b strings.Builder
	b.WriteString("custos_")
	for _, r := range strings.ToLower(database) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > pgsql.MaxIdentLen-len("_audit") {
		s = s[:pgsql.MaxIdentLen-len("_audit")]
	}
	return s
}

var templateVar = regexp.MustCompile(`\{[^}]*\}`)

func validatePostgres(v *cfgValidator, auto bool) {
	v.required("host", "database", "username", "password")
	v.enum("authenticationType", false, "userPassword")
	v.port()
	v.boolean("ssl")
	if f, ok := v.cfg["viewSchemaFormat"]; ok && f != nil {
		s, isStr := f.(string)
		switch {
		case !isStr:
			v.errs.Add("config.viewSchemaFormat", errs.CodeType, "config.viewSchemaFormat must be a string")
		case !strings.Contains(s, "<schema>"):
			v.add("viewSchemaFormat", "config.viewSchemaFormat must contain <schema> (for example %s), so that each schema's views stay apart", DefaultViewSchemaFormat)
		case s == "<schema>":
			v.add("viewSchemaFormat", "config.viewSchemaFormat cannot be <schema> alone: the views would replace the tables")
		}
	}
	for _, f := range []string{"systemSchema", "systemRole"} {
		if x, ok := v.cfg[f]; ok && x != nil {
			if s, isStr := x.(string); !isStr || !pgsql.ValidName(s) || len(s) > pgsql.MaxIdentLen-len("_audit") {
				v.add(f, "config.%s must be a plain name: letters, digits and underscores, not starting with a digit, at most 57 bytes", f)
			}
		}
	}
	if x, ok := v.cfg["userRoleTemplate"]; ok && x != nil {
		s, isStr := x.(string)
		if !isStr {
			v.errs.Add("config.userRoleTemplate", errs.CodeType, "config.userRoleTemplate must be a string")
		}
		for _, m := range templateVar.FindAllString(s, -1) {
			if m != "{username}" {
				v.add("userRoleTemplate", "config.userRoleTemplate may use {username} only, not %s", m)
			}
		}
	}
	if x, ok := v.cfg["audit"]; ok && x != nil {
		a, isObj := x.(map[string]any)
		if !isObj {
			v.errs.Add("config.audit", errs.CodeType, "config.audit must be an object")
		} else {
			if e, ok := a["enabled"]; ok {
				if _, isBool := e.(bool); !isBool {
					v.errs.Add("config.audit.enabled", errs.CodeType, "config.audit.enabled must be true or false")
				}
			}
			if p, ok := a["logPath"]; ok && p != nil {
				if _, isStr := p.(string); !isStr {
					v.errs.Add("config.audit.logPath", errs.CodeType, "config.audit.logPath must be a string")
				}
			}
		}
	}
}

// postgresConfig reads a validated PostgreSQL configuration, filling defaults.
func postgresConfig(c map[string]any) PostgresConfig {
	pc := PostgresConfig{Host: str(c, "host"), Port: num(c, "port"), Database: str(c, "database"), Username: str(c, "username"),
		Password: str(c, "password"), AuthenticationType: "userPassword", ViewSchemaFormat: str(c, "viewSchemaFormat"),
		SystemSchema: str(c, "systemSchema"), SystemRole: str(c, "systemRole"), UserRoleTemplate: DefaultUserRoleTemplate}
	pc.SSL, _ = c["ssl"].(bool)
	if pc.Port == 0 {
		pc.Port = 5432
	}
	if pc.ViewSchemaFormat == "" {
		pc.ViewSchemaFormat = DefaultViewSchemaFormat
	}
	if pc.SystemSchema == "" {
		pc.SystemSchema = "custos"
	}
	if pc.SystemRole == "" {
		pc.SystemRole = defaultSystemRole(pc.Database)
	}
	if t, ok := c["userRoleTemplate"].(string); ok {
		pc.UserRoleTemplate = t
	}
	if a, ok := c["audit"].(map[string]any); ok {
		pc.Audit.Enabled, _ = a["enabled"].(bool)
		pc.Audit.LogPath, _ = a["logPath"].(string)
	}
	return pc
}

// toMap turns a configuration struct back into a JSON object.
func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// validateRequest checks a request's type, autoBootstrap and configuration,
// returning every problem at once.
func validateRequest(r *Request) (*spec, error) {
	var l errs.List
	sp, ok := specs[r.Type]
	switch {
	case r.Type == "":
		l.Add("type", errs.CodeRequired, "type is required: one of %s", strings.Join(Types, ", "))
		return nil, l.Err()
	case !ok:
		l.Add("type", errs.CodeEnum, "type must be one of %s, not %q", strings.Join(Types, ", "), r.Type)
		return nil, l.Err()
	}
	if r.Type == TypeTrino {
		return sp, nil
	}
	if r.AutoBootstrap == nil {
		l.Add("autoBootstrap", errs.CodeRequired, "autoBootstrap is required (true or false)")
	} else if *r.AutoBootstrap && sp.mustBeManual {
		l.Add("autoBootstrap", errs.CodeInvalid, "autoBootstrap must be false for %s integrations", r.Type)
	}
	if r.Config == nil {
		l.Add("config", errs.CodeRequired, "config is required")
		return sp, l.Err()
	}
	v := &cfgValidator{cfg: r.Config}
	sp.validate(v, r.AutoBootstrap != nil && *r.AutoBootstrap)
	l = append(l, v.errs...)
	sort.SliceStable(l, func(i, j int) bool { return l[i].Field < l[j].Field })
	return sp, l.Err()
}

// split separates a configuration's secrets (by dotted path) from the rest.
func split(sp *spec, cfg map[string]any) (plain map[string]any, secrets map[string]any) {
	plain = deepCopy(cfg)
	secrets = map[string]any{}
	for _, path := range sp.secrets {
		parent, key := walk(plain, path, false)
		if parent == nil {
			continue
		}
		if v, ok := parent[key]; ok {
			secrets[path] = v
			delete(parent, key)
		}
	}
	return plain, secrets
}

// merge puts secrets back into a configuration.
func merge(cfg map[string]any, secrets map[string]any) map[string]any {
	out := deepCopy(cfg)
	for path, v := range secrets {
		parent, key := walk(out, path, true)
		parent[key] = v
	}
	return out
}

// redact returns a configuration for a response: defaults filled, secrets
// replaced.
func redact(sp *spec, cfg map[string]any, secrets map[string]any) map[string]any {
	out := deepCopy(cfg)
	for k, v := range sp.defaults {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	for path := range secrets {
		parent, key := walk(out, path, true)
		parent[key] = Redacted
	}
	return out
}

// keepRedacted replaces values sent back as "<REDACTED>" by the stored ones.
func keepRedacted(sp *spec, cfg map[string]any, stored map[string]any) {
	for _, path := range sp.secrets {
		parent, key := walk(cfg, path, false)
		if parent == nil {
			continue
		}
		if s, ok := parent[key].(string); ok && (s == Redacted || s == "REDACTED") {
			if v, ok := stored[path]; ok {
				parent[key] = v
			}
		}
	}
}

func walk(m map[string]any, path string, create bool) (map[string]any, string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			if !create {
				return nil, ""
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	return m, parts[len(parts)-1]
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

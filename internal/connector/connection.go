package connector

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/custosdata/custos/internal/errs"
)

// Handler names, spelled as the V2 `connection.handler` field spells them.
const (
	PostgreSQL   = "PostgreSQL"
	Snowflake    = "Snowflake"
	Databricks   = "Databricks"
	Redshift     = "Redshift"
	BigQuery     = "Google BigQuery"
	Presto       = "Presto"
	Trino        = "Trino"
	AzureSynapse = "Azure Synapse Analytics"
)

// Handlers lists every handler a V2 connection block may name, in the order
// error messages list them.
var Handlers = []string{PostgreSQL, Snowflake, Databricks, Redshift, BigQuery, Presto, Trino, AzureSynapse}

// Live reports whether custos can connect to databases of this handler and
// read their catalog and rows. Only PostgreSQL is live; the others are
// validated but never contacted.
func Live(handler string) bool { return handler == PostgreSQL }

// LiveHandlers lists the handlers for which Live is true.
func LiveHandlers() []string { return []string{PostgreSQL} }

// Connection is the `connection` block of a V2 data-source payload
// (`POST /api/v2/data`). Which fields apply depends on Handler; Validate
// checks them per technology.
type Connection struct {
	Handler                 string     `json:"handler" yaml:"handler"`
	Hostname                string     `json:"hostname,omitempty" yaml:"hostname,omitempty"`
	Port                    int        `json:"port,omitempty" yaml:"port,omitempty"`
	SSL                     bool       `json:"ssl,omitempty" yaml:"ssl,omitempty"`
	Database                string     `json:"database,omitempty" yaml:"database,omitempty"`
	Schema                  string     `json:"schema,omitempty" yaml:"schema,omitempty"`
	Username                string     `json:"username,omitempty" yaml:"username,omitempty"`
	Password                string     `json:"password,omitempty" yaml:"password,omitempty"`
	Warehouse               string     `json:"warehouse,omitempty" yaml:"warehouse,omitempty"`
	HTTPPath                string     `json:"httpPath,omitempty" yaml:"httpPath,omitempty"`
	ConnectionStringOptions string     `json:"connectionStringOptions,omitempty" yaml:"connectionStringOptions,omitempty"`
	AuthenticationMethod    string     `json:"authenticationMethod,omitempty" yaml:"authenticationMethod,omitempty"`
	Token                   string     `json:"token,omitempty" yaml:"token,omitempty"`
	UseCertificate          *bool      `json:"useCertificate,omitempty" yaml:"useCertificate,omitempty"`
	ClientID                string     `json:"clientId,omitempty" yaml:"clientId,omitempty"`
	ClientSecret            string     `json:"clientSecret,omitempty" yaml:"clientSecret,omitempty"`
	CertificateThumbprint   string     `json:"certificateThumbprint,omitempty" yaml:"certificateThumbprint,omitempty"`
	Audience                string     `json:"audience,omitempty" yaml:"audience,omitempty"`
	Scope                   string     `json:"scope,omitempty" yaml:"scope,omitempty"`
	UserFiles               []UserFile `json:"userFiles,omitempty" yaml:"userFiles,omitempty"`
	SID                     string     `json:"sid,omitempty" yaml:"sid,omitempty"`
	IdpHost                 string     `json:"idpHost,omitempty" yaml:"idpHost,omitempty"`
	AppID                   string     `json:"appID,omitempty" yaml:"appID,omitempty"`
	Role                    string     `json:"role,omitempty" yaml:"role,omitempty"`
}

// UserFile is a file sent with a connection (a key, a certificate), its
// content base64-encoded.
type UserFile struct {
	KeyName      string `json:"keyName" yaml:"keyName"`
	Content      string `json:"content" yaml:"content"`
	UserFilename string `json:"userFilename" yaml:"userFilename"`
}

// DefaultPort is the port a handler listens on when the connection omits it
// (0 when the technology has no single default).
func DefaultPort(handler string) int {
	switch handler {
	case PostgreSQL:
		return 5432
	case Redshift:
		return 5439
	case Snowflake, Databricks:
		return 443
	case AzureSynapse:
		return 1433
	case Presto, Trino:
		return 8080
	}
	return 0
}

// ConnectionString renders the connection the way data-source responses
// show it: host:port/database (port and database when known).
func (c Connection) ConnectionString() string {
	s := c.Hostname
	port := c.Port
	if port == 0 {
		port = DefaultPort(c.Handler)
	}
	if port != 0 {
		s += ":" + strconv.Itoa(port)
	}
	if c.Database != "" {
		s += "/" + c.Database
	}
	return s
}

// Validate checks the connection block against its handler's documented
// payload: required fields, enums and conditional requirements. field is the
// block's path in the payload (usually "connection"); every problem is
// reported at once as a 422 naming field.<name>.
func (c Connection) Validate(field string) error {
	v := &validator{prefix: field}
	if strings.TrimSpace(c.Handler) == "" {
		v.add("handler", errs.CodeRequired, "handler is required; one of %s", strings.Join(Handlers, ", "))
		return v.list.Err()
	}
	if c.Port < 0 || c.Port > 65535 {
		v.add("port", errs.CodeInvalid, "port %d is out of range 1-65535", c.Port)
	}
	v.files(c.UserFiles)
	if c.Hostname != "" && !validHost(c.Hostname) {
		v.add("hostname", errs.CodeInvalid, "hostname %q is not a host name or IP address", c.Hostname)
	}
	switch c.Handler {
	case PostgreSQL:
		v.require("hostname", c.Hostname)
		v.require("database", c.Database)
		v.require("username", c.Username)
		if c.ConnectionStringOptions != "" {
			v.add("connectionStringOptions", errs.CodeInvalid, "connectionStringOptions is not supported for PostgreSQL; use ssl")
		}
	case Snowflake:
		c.validateSnowflake(v)
	case Databricks:
		c.validateDatabricks(v)
	case Redshift:
		c.validateRedshift(v)
	case BigQuery:
		v.enum("authenticationMethod", c.AuthenticationMethod, sharedAuthMethods, false)
		v.require("sid", c.SID)
		if !hasFile(c.UserFiles, "KeyFilePath") {
			v.add("userFiles", errs.CodeRequired, "userFiles must include the service account key file with keyName KeyFilePath")
		}
	case Presto:
		v.require("hostname", c.Hostname)
		v.enum("authenticationMethod", c.AuthenticationMethod, append(slices.Clone(sharedAuthMethods), trinoAuthMethods...), false)
	case Trino:
		v.require("hostname", c.Hostname)
		v.enum("authenticationMethod", c.AuthenticationMethod, trinoAuthMethods, false)
	case AzureSynapse:
		v.require("hostname", c.Hostname)
		v.require("database", c.Database)
		v.require("username", c.Username)
		v.require("password", c.Password)
	default:
		v.add("handler", errs.CodeEnum, "handler %q is not supported; use one of %s", c.Handler, strings.Join(Handlers, ", "))
	}
	return v.list.Err()
}

// validHost reports whether h names a network host: a DNS name or an IP
// address (IPv6 with an optional zone), nothing else. A path would make the
// PostgreSQL driver use a local socket of the custos machine, and separators
// (",", "/", "@", blanks) have meanings in connection strings.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for _, r := range h {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(".-_:%[]", r) {
			return false
		}
	}
	return true
}

// sharedAuthMethods are the authentication methods of the table the
// documentation shares between BigQuery, Presto and Trino.
var sharedAuthMethods = []string{"userPassword", "keyPair", "oAuthClientCredentials", "token", "oAuthM2M", "keyFile", "auto", "okta"}

// trinoAuthMethods are the methods documented for Trino (and seen for Presto).
var trinoAuthMethods = []string{"No Authentication", "LDAP Authentication", "Kerberos Authentication"}

func (c Connection) validateSnowflake(v *validator) {
	v.require("hostname", c.Hostname)
	v.require("database", c.Database)
	v.require("warehouse", c.Warehouse)
	method := c.AuthenticationMethod
	if method == "" && c.Username != "" && c.Password != "" {
		method = "userPassword" // the documented examples send only username and password
	}
	if !v.enum("authenticationMethod", method, []string{"userPassword", "keyPair", "oAuthClientCredentials"}, true) {
		return
	}
	switch method {
	case "userPassword":
		v.require("username", c.Username)
		v.require("password", c.Password)
	case "keyPair":
		v.require("username", c.Username)
		if !hasFile(c.UserFiles, "PRIV_KEY_FILE") {
			v.add("userFiles", errs.CodeRequired, "keyPair authentication needs userFiles with keyName PRIV_KEY_FILE")
		}
	case "oAuthClientCredentials":
		if c.UseCertificate == nil {
			v.add("useCertificate", errs.CodeRequired, "useCertificate is required with oAuthClientCredentials")
		} else if *c.UseCertificate && !hasFile(c.UserFiles, "oauth client certificate") {
			v.add("userFiles", errs.CodeRequired, "a client certificate needs userFiles with keyName \"oauth client certificate\"")
		}
	}
}

func (c Connection) validateDatabricks(v *validator) {
	v.require("hostname", c.Hostname)
	v.require("httpPath", c.HTTPPath)
	method := c.AuthenticationMethod
	if method == "" && c.Username == "token" && c.Password != "" {
		method = "token" // the documented examples send the token as username "token" and the password
	}
	if !v.enum("authenticationMethod", method, []string{"oAuthM2M", "token"}, true) {
		return
	}
	switch method {
	case "token":
		if c.Token == "" && !(c.Username == "token" && c.Password != "") {
			v.add("token", errs.CodeRequired, "token is required with token authentication")
		}
	case "oAuthM2M":
		v.require("clientId", c.ClientID)
		v.require("audience", c.Audience)
		switch {
		case c.UseCertificate == nil:
			v.add("useCertificate", errs.CodeRequired, "useCertificate is required with oAuthM2M")
		case *c.UseCertificate:
			v.require("certificateThumbprint", c.CertificateThumbprint)
		default:
			v.require("clientSecret", c.ClientSecret)
		}
	}
}

func (c Connection) validateRedshift(v *validator) {
	v.require("hostname", c.Hostname)
	v.require("schema", c.Schema)
	method := c.AuthenticationMethod
	if method == "" {
		method = "userPassword" // the documented examples omit it
	}
	if !v.enum("authenticationMethod", method, []string{"userPassword", "okta"}, true) {
		return
	}
	v.require("username", c.Username)
	v.require("password", c.Password)
	if method == "okta" {
		v.require("idpHost", c.IdpHost)
		v.require("appID", c.AppID)
		v.require("role", c.Role)
	}
}

// S3Handler is the payload of `POST /native-s3/handler`: S3 prefixes to
// register through an existing S3 integration.
type S3Handler struct {
	Type          string         `json:"type" yaml:"type"`
	IntegrationID int64          `json:"integrationId" yaml:"integrationId"`
	DataSources   []S3DataSource `json:"dataSources" yaml:"dataSources"`
}

// S3DataSource names one S3 prefix (a bucket, a folder or an object).
type S3DataSource struct {
	DataSourceName string `json:"dataSourceName" yaml:"dataSourceName"`
	Prefix         string `json:"prefix" yaml:"prefix"`
}

// Validate checks the S3 payload; field prefixes the reported paths (may be "").
func (h S3Handler) Validate(field string) error {
	v := &validator{prefix: field}
	if h.Type != "Native S3" {
		v.add("type", errs.CodeEnum, "type must be \"Native S3\"")
	}
	if h.IntegrationID <= 0 {
		v.add("integrationId", errs.CodeRequired, "integrationId must name an existing S3 integration")
	}
	if len(h.DataSources) == 0 {
		v.add("dataSources", errs.CodeRequired, "dataSources must list at least one prefix")
	}
	seen := map[string]bool{}
	for i, ds := range h.DataSources {
		at := fmt.Sprintf("dataSources[%d]", i)
		v.require(at+".dataSourceName", ds.DataSourceName)
		v.require(at+".prefix", ds.Prefix)
		if ds.DataSourceName != "" {
			if seen[ds.DataSourceName] {
				v.add(at+".dataSourceName", errs.CodeUnique, "data source name %q is used twice", ds.DataSourceName)
			}
			seen[ds.DataSourceName] = true
		}
		if strings.HasPrefix(ds.Prefix, "s3://") {
			v.add(at+".prefix", errs.CodeInvalid, "prefix is a path inside the integration's location, without s3://")
		}
	}
	return v.list.Err()
}

// AzureBlobHandler is the handler metadata of `POST /azureblob/handler`: a
// storage container reached with a SAS token.
type AzureBlobHandler struct {
	Container           string   `json:"container" yaml:"container"`
	SASToken            string   `json:"sasToken" yaml:"sasToken"`
	SASTokenURL         string   `json:"sasTokenUrl" yaml:"sasTokenUrl"`
	TagAttributes       []string `json:"tagAttributes,omitempty" yaml:"tagAttributes,omitempty"`
	EventTimeAttribute  string   `json:"eventTimeAttribute,omitempty" yaml:"eventTimeAttribute,omitempty"`
	UseDirectoryForTags bool     `json:"useDirectoryForTags,omitempty" yaml:"useDirectoryForTags,omitempty"`
}

// Validate checks the Azure Blob metadata; field prefixes the reported paths
// (usually "handler.metadata").
func (h AzureBlobHandler) Validate(field string) error {
	v := &validator{prefix: field}
	v.require("container", h.Container)
	v.require("sasToken", h.SASToken)
	if v.require("sasTokenUrl", h.SASTokenURL) {
		if u, err := url.Parse(h.SASTokenURL); err != nil || u.Scheme != "https" || u.Host == "" {
			v.add("sasTokenUrl", errs.CodeInvalid, "sasTokenUrl must be an https URL of the storage account")
		}
	}
	return v.list.Err()
}

// validator collects field errors under a common prefix.
type validator struct {
	prefix string
	list   errs.List
}

func (v *validator) path(name string) string {
	if v.prefix == "" {
		return name
	}
	return v.prefix + "." + name
}

func (v *validator) add(name, code, format string, args ...any) {
	v.list.Add(v.path(name), code, format, args...)
}

// require reports name as missing when value is blank; it returns whether the
// value was present.
func (v *validator) require(name, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(name, errs.CodeRequired, "%s is required", v.path(name))
		return false
	}
	return true
}

// enum checks value against allowed; an empty value is an error only when
// required. It returns whether value is usable.
func (v *validator) enum(name, value string, allowed []string, required bool) bool {
	if value == "" {
		if required {
			v.add(name, errs.CodeRequired, "%s is required; one of %s", v.path(name), strings.Join(allowed, ", "))
		}
		return false
	}
	if !slices.Contains(allowed, value) {
		v.add(name, errs.CodeEnum, "%s %q is not one of %s", v.path(name), value, strings.Join(allowed, ", "))
		return false
	}
	return true
}

func (v *validator) files(files []UserFile) {
	for i, f := range files {
		at := fmt.Sprintf("userFiles[%d]", i)
		v.require(at+".keyName", f.KeyName)
		v.require(at+".userFilename", f.UserFilename)
		if v.require(at+".content", f.Content) {
			if _, err := base64.StdEncoding.DecodeString(f.Content); err != nil {
				v.add(at+".content", errs.CodeInvalid, "%s must be base64-encoded", v.path(at+".content"))
			}
		}
	}
}

func hasFile(files []UserFile, keyName string) bool {
	for _, f := range files {
		if f.KeyName == keyName {
			return true
		}
	}
	return false
}

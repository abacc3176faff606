package connector

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/errs"
)

// fields returns the field paths of a validation error, or fails.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		t.Fatalf("want a 422 error, got %v", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestConnectionValidate(t *testing.T) {
	key := []UserFile{{KeyName: "PRIV_KEY_FILE", Content: "a2V5", UserFilename: "key.p8"}}
	for _, tc := range []struct {
		name string
		conn Connection
		want []string // field paths; nil means valid
	}{
		{"postgres", Connection{Handler: PostgreSQL, Hostname: "db", Port: 5432, Database: "shop", Username: "u", Password: "p"}, nil},
		{"postgres missing", Connection{Handler: PostgreSQL}, []string{"connection.hostname", "connection.database", "connection.username"}},
		{"postgres options", Connection{Handler: PostgreSQL, Hostname: "db", Database: "d", Username: "u", ConnectionStringOptions: "sslmode=verify-full"},
			[]string{"connection.connectionStringOptions"}},
		{"port out of range", Connection{Handler: PostgreSQL, Hostname: "db", Database: "d", Username: "u", Port: 70000}, []string{"connection.port"}},
		{"postgres ipv6", Connection{Handler: PostgreSQL, Hostname: "fe80::1%eth0", Database: "d", Username: "u"}, nil},
		{"postgres socket path", Connection{Handler: PostgreSQL, Hostname: "/var/run/postgresql", Database: "d", Username: "u"},
			[]string{"connection.hostname"}},
		{"two hosts", Connection{Handler: PostgreSQL, Hostname: "a,b", Database: "d", Username: "u"}, []string{"connection.hostname"}},
		{"host with a blank", Connection{Handler: Snowflake, Hostname: "x .snowflakecomputing.com", Database: "d", Warehouse: "w",
			Username: "u", Password: "p"}, []string{"connection.hostname"}},
		{"no handler", Connection{Hostname: "db"}, []string{"connection.handler"}},
		{"unknown handler", Connection{Handler: "Oracle", Hostname: "db"}, []string{"connection.handler"}},

		{"snowflake example", Connection{Handler: Snowflake, Hostname: "x.snowflakecomputing.com", Port: 443, SSL: true, Database: "TPC",
			Username: "USERA", Password: "secret", Schema: "PUBLIC", Warehouse: "IT_WH"}, nil},
		{"snowflake key pair", Connection{Handler: Snowflake, Hostname: "h", Database: "d", Warehouse: "w", AuthenticationMethod: "keyPair", Username: "u", UserFiles: key}, nil},
		{"snowflake key pair without key", Connection{Handler: Snowflake, Hostname: "h", Database: "d", Warehouse: "w", AuthenticationMethod: "keyPair", Username: "u"}, []string{"connection.userFiles"}},
		{"snowflake oauth", Connection{Handler: Snowflake, Hostname: "h", Database: "d", Warehouse: "w", AuthenticationMethod: "oAuthClientCredentials"}, []string{"connection.useCertificate"}},
		{"snowflake bad method", Connection{Handler: Snowflake, Hostname: "h", Database: "d", Warehouse: "w", AuthenticationMethod: "magic"}, []string{"connection.authenticationMethod"}},
		{"snowflake missing", Connection{Handler: Snowflake}, []string{"connection.hostname", "connection.database", "connection.warehouse", "connection.authenticationMethod"}},

		{"databricks token example", Connection{Handler: Databricks, Hostname: "h", Port: 443, SSL: true, Database: "tpc", Username: "token", Password: "dapi", HTTPPath: "sql/protocolv1/o/0/1"}, nil},
		{"databricks token field", Connection{Handler: Databricks, Hostname: "h", HTTPPath: "p", AuthenticationMethod: "token", Token: "dapi"}, nil},
		{"databricks token missing", Connection{Handler: Databricks, Hostname: "h", HTTPPath: "p", AuthenticationMethod: "token"}, []string{"connection.token"}},
		{"databricks m2m secret", Connection{Handler: Databricks, Hostname: "h", HTTPPath: "p", AuthenticationMethod: "oAuthM2M", UseCertificate: no(),
			ClientID: "c", Audience: "https://h/oidc/v1/token", ClientSecret: "s", Scope: "all-apis"}, nil},
		{"databricks m2m certificate", Connection{Handler: Databricks, Hostname: "h", HTTPPath: "p", AuthenticationMethod: "oAuthM2M", UseCertificate: yes(),
			ClientID: "c", Audience: "a"}, []string{"connection.certificateThumbprint"}},
		{"databricks m2m missing", Connection{Handler: Databricks, Hostname: "h", HTTPPath: "p", AuthenticationMethod: "oAuthM2M"},
			[]string{"connection.clientId", "connection.audience", "connection.useCertificate"}},
		{"databricks no path", Connection{Handler: Databricks, Hostname: "h", AuthenticationMethod: "token", Token: "t"}, []string{"connection.httpPath"}},

		{"redshift example", Connection{Handler: Redshift, Hostname: "c.redshift.amazonaws.com", Port: 5439, SSL: true, Database: "d", Username: "awsuser", Password: "p", Schema: "external_schema"}, nil},
		{"redshift okta", Connection{Handler: Redshift, Hostname: "h", Schema: "s", Username: "u", Password: "p", AuthenticationMethod: "okta"},
			[]string{"connection.idpHost", "connection.appID", "connection.role"}},
		{"redshift missing", Connection{Handler: Redshift, Hostname: "h"}, []string{"connection.schema", "connection.username", "connection.password"}},

		{"bigquery", Connection{Handler: BigQuery, SID: "my-project", UserFiles: []UserFile{{KeyName: "KeyFilePath", Content: "e30=", UserFilename: "keyfile.json"}}}, nil},
		{"bigquery missing", Connection{Handler: BigQuery}, []string{"connection.sid", "connection.userFiles"}},
		{"bad base64", Connection{Handler: BigQuery, SID: "p", UserFiles: []UserFile{{KeyName: "KeyFilePath", Content: "not base64!", UserFilename: "k"}}}, []string{"connection.userFiles[0].content"}},

		{"trino", Connection{Handler: Trino, Hostname: "example-trino.host.io", Port: 8080, AuthenticationMethod: "No Authentication"}, nil},
		{"trino bad method", Connection{Handler: Trino, Hostname: "h", AuthenticationMethod: "userPassword"}, []string{"connection.authenticationMethod"}},
		{"presto", Connection{Handler: Presto, Hostname: "h", AuthenticationMethod: "userPassword", Username: "u", Password: "p"}, nil},
		{"presto missing host", Connection{Handler: Presto}, []string{"connection.hostname"}},

		{"synapse", Connection{Handler: AzureSynapse, Hostname: "w.sql.azuresynapse.net", Port: 1433, Database: "d", Username: "u", Password: "p"}, nil},
		{"synapse missing", Connection{Handler: AzureSynapse, Hostname: "h"}, []string{"connection.database", "connection.username", "connection.password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.conn.Validate("connection")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if got := fields(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("fields = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestConnectionDecodesTheDocumentedFieldNames(t *testing.T) {
	var c Connection
	err := json.Unmarshal([]byte(`{"handler":"Databricks","hostname":"h","port":443,"ssl":true,"database":"data",
		"authenticationMethod":"oAuthM2M","useCertificate":false,"clientId":"id","audience":"a","scope":"all-apis",
		"clientSecret":"s","httpPath":"sql/1"}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientID != "id" || c.HTTPPath != "sql/1" || c.UseCertificate == nil || *c.UseCertificate || !c.SSL || c.Port != 443 {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate("connection"); err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionString(); got != "h:443/data" {
		t.Errorf("ConnectionString = %q", got)
	}
}

func TestOnlyPostgresIsLive(t *testing.T) {
	for _, h := range Handlers {
		if Live(h) != (h == PostgreSQL) {
			t.Errorf("Live(%q) = %v", h, Live(h))
		}
	}
	if !slices.Equal(LiveHandlers(), []string{PostgreSQL}) {
		t.Errorf("LiveHandlers = %v", LiveHandlers())
	}
}

func TestOpenRefusesTechnologiesThatAreNotLive(t *testing.T) {
	c := Connection{Handler: Snowflake, Hostname: "h", Database: "d", Warehouse: "w", Username: "u", Password: "p"}
	_, err := Open(t.Context(), c, Options{})
	if !errors.Is(err, ErrNotLive) {
		t.Fatalf("want ErrNotLive, got %v", err)
	}
	if got := fields(t, err); !slices.Equal(got, []string{"connection.handler"}) {
		t.Errorf("fields = %q", got)
	}
	// An invalid payload is reported as such before liveness.
	_, err = Open(t.Context(), Connection{Handler: Snowflake}, Options{})
	if errors.Is(err, ErrNotLive) || len(fields(t, err)) != 4 {
		t.Errorf("want the validation errors, got %v", err)
	}
}

func TestS3HandlerValidate(t *testing.T) {
	ok := S3Handler{Type: "Native S3", IntegrationID: 2, DataSources: []S3DataSource{{DataSourceName: "research", Prefix: "research-data-source"}}}
	if err := ok.Validate(""); err != nil {
		t.Fatal(err)
	}
	bad := S3Handler{Type: "S3", DataSources: []S3DataSource{{DataSourceName: "a", Prefix: "s3://b"}, {DataSourceName: "a"}}}
	want := []string{"type", "integrationId", "dataSources[0].prefix", "dataSources[1].prefix", "dataSources[1].dataSourceName"}
	if got := fields(t, bad.Validate("")); !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

func TestAzureBlobHandlerValidate(t *testing.T) {
	ok := AzureBlobHandler{Container: "demodata", SASToken: "?sv=x", SASTokenURL: "https://acct.blob.core.windows.net/"}
	if err := ok.Validate("handler.metadata"); err != nil {
		t.Fatal(err)
	}
	bad := AzureBlobHandler{SASTokenURL: "ftp://x"}
	want := []string{"handler.metadata.container", "handler.metadata.sasToken", "handler.metadata.sasTokenUrl"}
	if got := fields(t, bad.Validate("handler.metadata")); !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

func TestOtherTechnologiesAreStoredNotVerified(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		admin := servertest.AdminKey
		snowflake := map[string]any{"handler": "Snowflake", "hostname": "acme.snowflakecomputing.com", "port": 443, "ssl": true,
			"database": "TPC", "schema": "PUBLIC", "warehouse": "IT_WH", "username": "USERA", "password": "s3cret-snowflake"}
		doc := map[string]any{"connectionKey": "tpc-snowflake", "connection": snowflake,
			"nameTemplate": map[string]any{"dataSourceFormat": "Snowflake <Tablename>", "tableFormat": "<tablename>", "schemaFormat": "snowflake"},
			"sources": []any{map[string]any{"table": "CUSTOMER", "schema": "PUBLIC", "columns": []any{
				map[string]any{"name": "C_CUSTKEY", "dataType": "numeric", "remoteType": "NUMBER(38,0)", "primaryKey": true},
				map[string]any{"name": "C_NAME", "dataType": "text"}, map[string]any{"name": "C_PHONE", "dataType": "text"},
			}}, map[string]any{"table": "WEB_SALES", "schema": "PUBLIC", "columns": []any{
				map[string]any{"name": "WS_SOLD_DATE", "dataType": "date"}}}}}
		res := post(t, env, 200, doc)
		if res.ConnectionVerified || len(res.Warnings) == 0 || !slices.Equal(res.Creating, []string{"Snowflake Customer", "Snowflake Web Sales"}) {
			t.Fatalf("snowflake: %+v", res)
		}
		c := getDS(t, env, "Snowflake Customer")
		if c.ConnectionVerified || c.Status != "failed" || !strings.Contains(c.StatusInfo.SQL.Message, "does not connect to Snowflake") ||
			c.SQLSchemaName != "snowflake" || c.BlobHandlerType != "Snowflake" {
			t.Fatalf("snowflake data source: %+v", c)
		}
		d := dictionary(t, env, c.ID)
		if len(d.Metadata) != 3 || d.Metadata[0].Name != "C_CUSTKEY" || !d.Metadata[0].PrimaryKey || deref(d.Metadata[0].RemoteType) != "NUMBER(38,0)" {
			t.Fatalf("only the listed columns: %+v", d.Metadata)
		}
		// Discovery scores names and types only: the date column is a date.
		waitJobs(t, env, res.SDDJobs)
		if got := columnTags(t, env, getDS(t, env, "Snowflake Web Sales").ID, "sdd"); !slices.Contains(got["WS_SOLD_DATE"], "Discovered.Entity.Date") {
			t.Fatalf("name and type discovery: %v", got)
		}
		body := string(env.Admin(t, 200, "GET", "/api/v2/data/tpc-snowflake", nil).Body)
		if strings.Contains(body, "s3cret") || !strings.Contains(body, "IT_WH") {
			t.Fatalf("stored document: %s", body)
		}
		// Listing every table is impossible without a connection: a warning, nothing created.
		res = post(t, env, 200, map[string]any{"connectionKey": "dbx", "connection": map[string]any{"handler": "Databricks",
			"hostname": "dbx.example.com", "httpPath": "sql/1", "username": "token", "password": "dapi123"}})
		if len(res.Creating) != 0 || len(res.Warnings) != 2 {
			t.Fatalf("databricks without sources: %+v", res)
		}
		// Per-technology validation.
		for _, c := range []struct {
			conn  map[string]any
			field string
		}{
			{map[string]any{"handler": "Snowflake", "hostname": "h", "database": "d", "username": "u", "password": "p"}, "connection.warehouse"},
			{map[string]any{"handler": "Redshift", "hostname": "h", "username": "u", "password": "p"}, "connection.schema"},
			{map[string]any{"handler": "Google BigQuery", "sid": "proj"}, "connection.userFiles"},
			{map[string]any{"handler": "Trino", "hostname": "h", "authenticationMethod": "Magic"}, "connection.authenticationMethod"},
			{map[string]any{"handler": "Azure Synapse Analytics", "hostname": "h", "database": "d", "username": "u"}, "connection.password"},
		} {
			r := env.Must(t, 422, admin, "POST", "/api/v2/data", map[string]any{"connectionKey": "bad", "connection": c.conn})
			if f := fields(t, r); !slices.Contains(f, c.field) {
				t.Errorf("%v: %s", c.conn["handler"], r.Body)
			}
		}
		r := env.Must(t, 422, admin, "POST", "/api/v2/data", map[string]any{"connectionKey": "nocols", "connection": snowflake,
			"sources": []any{map[string]any{"table": "T", "columns": []any{map[string]any{"name": "a"}}}}})
		if f := fields(t, r); !slices.Equal(f, []string{"sources[0].columns[0].dataType"}) {
			t.Fatalf("non-live columns need types: %s", r.Body)
		}

		// The V1 Snowflake handler: create, read (no password), rename, bulk.
		var created struct {
			ID               int64    `json:"id"`
			DataSourceID     int64    `json:"dataSourceId"`
			ConnectionString string   `json:"connectionString"`
			Warnings         []string `json:"warnings"`
		}
		env.Admin(t, 200, "POST", "/snowflake/handler", map[string]any{
			"handler": map[string]any{"metadata": map[string]any{"ssl": true, "authenticationMethod": "userPassword", "username": "user",
				"password": "yourpassword", "port": 443, "hostname": "demo.snowflakecomputing.com", "warehouse": "YOUR_WH",
				"database": "ANALYTICS", "schema": "TEST", "table": "CUSTOMERS", "bodataTableName": "customers", "dataSourceName": "Customers",
				"staleDataTolerance": 86400, "columns": []any{
					map[string]any{"name": "CUSTOMER_ID", "dataType": "numeric(38,0)", "remoteType": "number(38,0)", "isPrimaryKey": false, "nullable": true},
					map[string]any{"name": "FIRST_NAME", "dataType": "text", "remoteType": "varchar(16777216)"}}}},
			"dataSource": map[string]any{"blobHandler": map[string]any{"scheme": "https", "url": ""}, "blobHandlerType": "Snowflake",
				"recordFormat": "", "type": "queryable", "name": "Customers", "sqlTableName": "customers"}}).JSON(t, &created)
		if created.ID == 0 || created.ID != created.DataSourceID || created.ConnectionString != "demo.snowflakecomputing.com:443/ANALYTICS" {
			t.Fatalf("snowflake handler: %+v", created)
		}
		h := env.Admin(t, 200, "GET", fmt.Sprintf("/snowflake/handler/%d", created.ID), nil)
		var hv struct {
			Metadata map[string]any `json:"metadata"`
			Type     string         `json:"type"`
			DBMS     struct {
				Name string `json:"name"`
			} `json:"dbms"`
		}
		h.JSON(t, &hv)
		if strings.Contains(string(h.Body), "yourpassword") || hv.Metadata["warehouse"] != "YOUR_WH" || hv.DBMS.Name != "snowflake" ||
			hv.Type != "odbcHandler" || hv.Metadata["staleDataTolerance"] != float64(86400) || len(hv.Metadata["columns"].([]any)) != 2 {
			t.Fatalf("snowflake handler object: %s", h.Body)
		}
		env.Must(t, 404, admin, "GET", fmt.Sprintf("/databricks/handler/%d", created.ID), nil)
		env.Admin(t, 200, "PUT", fmt.Sprintf("/snowflake/handler/%d", created.ID), map[string]any{"handler": map[string]any{
			"metadata": map[string]any{"dataSourceName": "Analytics Customers", "hostname": "demo.snowflakecomputing.com", "port": 443,
				"database": "ANALYTICS", "warehouse": "YOUR_WH", "username": "user", "authenticationMethod": "userPassword"}}})
		if g := getDS(t, env, "Analytics Customers"); g.ID != created.ID || len(dictionary(t, env, g.ID).Metadata) != 2 {
			t.Fatalf("renamed handler: %+v", g)
		}
		var bulk map[string]any
		env.Admin(t, 200, "PUT", "/snowflake/bulk", map[string]any{"connectionString": created.ConnectionString,
			"handler": map[string]any{"metadata": map[string]any{"hostname": "demo.snowflakecomputing.com", "port": 443,
				"database": "ANALYTICS", "warehouse": "NEW_WH", "username": "user", "password": "rotated"}}}).JSON(t, &bulk)
		if bulk["jobsCreated"] != float64(1) {
			t.Fatalf("bulk: %v", bulk)
		}
		env.Admin(t, 200, "GET", fmt.Sprintf("/snowflake/handler/%d", created.ID), nil).JSON(t, &hv)
		if hv.Metadata["warehouse"] != "NEW_WH" {
			t.Fatalf("warehouse after bulk: %v", hv.Metadata["warehouse"])
		}
		env.Must(t, 422, admin, "POST", "/snowflake/handler", map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"hostname": "h", "database": "d", "username": "u", "password": "p", "schema": "s", "table": "t"}}})

		// Redshift registers several tables at once.
		var multi struct {
			DataSources []map[string]any `json:"dataSources"`
		}
		meta := func(table string) map[string]any {
			return map[string]any{"metadata": map[string]any{"ssl": true, "port": 5439, "hostname": "redshift.example.io", "database": "test",
				"username": "user", "password": "pw", "schema": "army", "table": table, "columns": []any{
					map[string]any{"name": "id", "dataType": "integer"}}}}
		}
		env.Admin(t, 200, "POST", "/redshift/handler", map[string]any{"handler": []any{meta("army_records"), meta("cities")},
			"schemaEvolution": map[string]any{"config": map[string]any{"nameTemplate": map[string]any{"nameFormat": "<Schema> <Tablename>",
				"tableFormat": "<tablename>", "sqlSchemaNameFormat": "<schema>", "schemaProjectNameFormat": "<Schema>"}}}}).JSON(t, &multi)
		if len(multi.DataSources) != 2 || multi.DataSources[0]["name"] != "Army Army Records" {
			t.Fatalf("redshift: %+v", multi)
		}

		// S3 and Azure Blob.
		var s3 map[string]any
		env.Admin(t, 200, "POST", "/native-s3/handler", map[string]any{"type": "Native S3", "integrationId": 2,
			"dataSources": []any{map[string]any{"dataSourceName": "Research Data", "prefix": "research-data-source"}}}).JSON(t, &s3)
		if s3["prefix"] != "research-data-source" || s3["dataSourceName"] != "Research Data" {
			t.Fatalf("s3: %v", s3)
		}
		var s3h map[string]any
		env.Admin(t, 200, "GET", fmt.Sprintf("/native-s3/handler/%v", s3["dataSourceId"]), nil).JSON(t, &s3h)
		if s3h["type"] != "nativeS3Handler" || s3h["awsLocationPath"] != "s3://" {
			t.Fatalf("s3 handler: %v", s3h)
		}
		env.Must(t, 422, admin, "POST", "/native-s3/handler", map[string]any{"type": "S3", "dataSources": []any{}})
		var az map[string]any
		env.Admin(t, 200, "POST", "/azureblob/handler", map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"tagAttributes": []string{}, "sasToken": "?sv=secret-sas", "sasTokenUrl": "https://acct.blob.core.windows.net/x", "container": "demodata"}},
			"dataSource": map[string]any{"blobHandlerType": "Azure Blob Storage", "type": "ingested", "name": "dev", "sqlTableName": "dev"}}).JSON(t, &az)
		azb := env.Admin(t, 200, "GET", fmt.Sprintf("/azureblob/handler/%v", az["dataSourceId"]), nil)
		if strings.Contains(string(azb.Body), "secret-sas") || !strings.Contains(string(azb.Body), `"connectionString":"acct/demodata"`) {
			t.Fatalf("azure handler: %s", azb.Body)
		}
		env.Admin(t, 200, "PUT", "/azureblob/bulk", map[string]any{"connectionString": "acct/demodata",
			"handler": map[string]any{"metadata": map[string]any{"sasToken": "?sv=new"}}})
		env.Must(t, 422, admin, "POST", "/azureblob/handler", map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"container": "c", "sasToken": "t", "sasTokenUrl": "http://insecure"}}, "dataSource": map[string]any{"name": "x"}})
		// V1-registered connections do not appear as V2 connection keys.
		var keys []map[string]any
		env.Admin(t, 200, "GET", "/api/v2/data", nil).JSON(t, &keys)
		if len(keys) != 2 {
			t.Fatalf("V2 keys: %v", keys)
		}
	})
}

// The connection of a technology handler is shared by every data source of
// its database: changing its settings through one data source needs what
// changing the connection needs, not only owning that data source.
func TestHandlerConnectionSettingsNeedTheWholeConnection(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		meta := func(table string) map[string]any {
			return map[string]any{"metadata": map[string]any{"port": 5439, "hostname": "redshift.example.io", "database": "test",
				"username": "user", "password": "pw", "schema": "army", "table": table, "columns": []any{
					map[string]any{"name": "id", "dataType": "integer"}}}}
		}
		var multi struct {
			DataSources []struct {
				ID int64 `json:"id"`
			} `json:"dataSources"`
		}
		env.Admin(t, 200, "POST", "/redshift/handler", map[string]any{"handler": []any{meta("records"), meta("cities")}}).JSON(t, &multi)
		if len(multi.DataSources) != 2 {
			t.Fatalf("redshift: %+v", multi)
		}
		olga, key := env.NewUser(t, "olga")
		first := multi.DataSources[0].ID
		env.Admin(t, 200, "POST", fmt.Sprintf("/dataSource/%d/access", first), map[string]any{"profileId": olga, "state": "owner"})
		secret := func() string {
			var s string
			if err := env.App.DB.QueryRow(t.Context(), `SELECT secret FROM connections WHERE technology = 'Redshift'`).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		before := secret()
		env.Must(t, 403, key, "PUT", fmt.Sprintf("/redshift/handler/%d", first), map[string]any{"handler": map[string]any{
			"metadata": map[string]any{"port": 5439, "hostname": "redshift.example.io", "database": "test", "schema": "army",
				"username": "olga", "password": "hers"}}})
		if secret() != before {
			t.Fatal("the owner of one data source changed the credentials of the whole connection")
		}
		// Her own data source's metadata is hers to change.
		env.Must(t, 200, key, "PUT", fmt.Sprintf("/redshift/handler/%d", first), map[string]any{"handler": map[string]any{
			"metadata": map[string]any{"dataSourceName": "Olga Records"}}})
	})
}

// A SAS URL may carry the SAS token in its query: custos keeps the token
// sealed and shows the URL without it.
func TestAzureBlobSASURLIsShownWithoutItsToken(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		var az map[string]any
		env.Admin(t, 200, "POST", "/azureblob/handler", map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"sasToken": "?sv=2022&sig=SECRETSIG", "container": "demodata",
			"sasTokenUrl": "https://acct.blob.core.windows.net/demodata?sv=2022&sig=SECRETSIG"}},
			"dataSource": map[string]any{"name": "dev"}}).JSON(t, &az)
		path := fmt.Sprintf("/azureblob/handler/%v", az["dataSourceId"])
		body := string(env.Admin(t, 200, "GET", path, nil).Body)
		if strings.Contains(body, "SECRETSIG") || !strings.Contains(body, `"sasTokenUrl":"https://acct.blob.core.windows.net/demodata"`) {
			t.Fatalf("azure handler: %s", body)
		}
		body = string(env.Admin(t, 200, "PUT", path, map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"container": "demodata", "sasTokenUrl": "https://acct.blob.core.windows.net/?sig=OTHERSIG"}}}).Body)
		if strings.Contains(body, "OTHERSIG") {
			t.Fatalf("azure handler update: %s", body)
		}
		var n int
		if err := env.App.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM connections WHERE CAST(config AS TEXT) LIKE '%SIG%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("the stored connection shows the SAS signature")
		}
	})
}

// A V2 connection key that happens to be spelled like the connection a
// technology handler groups its tables under stays a V2 connection.
func TestHandlerDoesNotTakeOverAV2ConnectionKey(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		key := "v1/redshift/redshift.example.io:5439/test"
		post(t, env, 200, map[string]any{"connectionKey": key, "options": noSDD, "connection": map[string]any{"handler": "Snowflake",
			"hostname": "acme.snowflakecomputing.com", "database": "CRM", "warehouse": "WH", "username": "u", "password": "p"},
			"sources": []any{map[string]any{"table": "T", "schema": "S", "columns": []any{map[string]any{"name": "c", "dataType": "text"}}}}})
		env.Admin(t, 409, "POST", "/redshift/handler", map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"port": 5439, "hostname": "redshift.example.io", "database": "test", "username": "user", "password": "pw",
			"schema": "army", "table": "records", "columns": []any{map[string]any{"name": "id", "dataType": "integer"}}}}})
		var doc map[string]any
		env.Admin(t, 200, "GET", "/api/v2/data/"+url.PathEscape(key), nil).JSON(t, &doc)
		if doc["connection"].(map[string]any)["handler"] != "Snowflake" {
			t.Fatalf("the V2 document became %v", doc["connection"])
		}
	})
}

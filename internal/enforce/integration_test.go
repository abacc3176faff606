package enforce

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/enforce/postgres"
	"github.com/custosdata/custos/internal/errs"
)

func fieldsOf(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, f := range errs.As(err).Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidateRequestNamesEveryField(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		name string
		r    Request
		want []string
	}{
		{"postgres ok", Request{Type: TypePostgreSQL, AutoBootstrap: &yes, Config: map[string]any{"host": "h", "database": "d", "username": "u", "password": "p"}}, nil},
		{"postgres bad", Request{Type: TypePostgreSQL, AutoBootstrap: &yes, Config: map[string]any{"host": "h", "port": 70000.0, "ssl": "yes",
			"viewSchemaFormat": "x", "systemRole": "1bad", "userRoleTemplate": "{email}", "audit": map[string]any{"enabled": "on"}}},
			[]string{"config.audit.enabled", "config.database", "config.password", "config.port", "config.ssl", "config.systemRole", "config.userRoleTemplate", "config.username", "config.viewSchemaFormat"}},
		{"snowflake keyPair", Request{Type: TypeSnowflake, AutoBootstrap: &no, Config: map[string]any{"host": "h", "warehouse": "w", "database": "d", "authenticationType": "keyPair"}},
			[]string{"config.privateKey"}},
		{"snowflake auto needs role", Request{Type: TypeSnowflake, AutoBootstrap: &yes, Config: map[string]any{"host": "h", "warehouse": "w", "database": "d", "authenticationType": "userPassword", "username": "u", "password": "p"}},
			[]string{"config.role"}},
		{"databricks catalog", Request{Type: TypeDatabricks, AutoBootstrap: &yes, Config: map[string]any{"workspaceUrl": "w", "httpPath": "p", "authenticationType": "token", "token": "t", "catalog": "9x"}},
			[]string{"config.catalog"}},
		{"redshift okta", Request{Type: TypeRedshift, AutoBootstrap: &no, Config: map[string]any{"host": "h", "database": "d", "authenticationType": "okta", "okta": map[string]any{"username": "u"}}},
			[]string{"config.okta.appId", "config.okta.idpHost", "config.okta.password", "config.okta.role"}},
		{"synapse delimiters", Request{Type: TypeSynapse, AutoBootstrap: &no, Config: map[string]any{"host": "h", "database": "d", "schema": "s", "username": "u", "password": "p",
			"authenticationType": "userPassword", "metadataDelimiters": map[string]any{"hashDelimiter": ",", "arrayDelimiter": ","}}}, []string{"config.metadataDelimiters"}},
		{"bigquery", Request{Type: TypeBigQuery, AutoBootstrap: &yes, Config: map[string]any{"role": "r", "datasetSuffix": "x", "location": "l", "credential": "{"}},
			[]string{"autoBootstrap", "config.credential", "config.datasetSuffix"}},
		{"s3", Request{Type: TypeS3, AutoBootstrap: &no, Config: map[string]any{"name": "n", "awsAccountId": "1", "awsRegion": "r", "awsLocationRole": "role", "awsLocationPath": "s3://", "authenticationType": "accessKey"}},
			[]string{"config.awsAccessKeyId", "config.awsLocationRole", "config.awsSecretAccessKey"}},
		{"trino", Request{Type: TypeTrino}, nil},
		{"no type", Request{}, []string{"type"}},
	}
	for _, c := range cases {
		_, err := validateRequest(&c.r)
		if got := fieldsOf(err); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: fields %v, want %v (%v)", c.name, got, c.want, err)
		}
	}
}

func TestSecretsAreSplitRedactedAndKept(t *testing.T) {
	sp := specs[TypeRedshift]
	cfg := map[string]any{"host": "h", "authenticationType": "okta", "okta": map[string]any{"username": "u", "password": "secret"}, "password": "pw"}
	plain, secrets := split(sp, cfg)
	if strings.Contains(toJSONString(plain), "secret") || strings.Contains(toJSONString(plain), `"pw"`) {
		t.Errorf("plain config keeps a secret: %v", plain)
	}
	shown := redact(sp, plain, secrets)
	if shown["password"] != Redacted || shown["okta"].(map[string]any)["password"] != Redacted || shown["port"] != 5439 {
		t.Errorf("redacted: %v", shown)
	}
	back := deepCopy(shown)
	keepRedacted(sp, back, secrets)
	if !reflect.DeepEqual(merge(plain, secrets)["okta"], back["okta"]) || back["password"] != "pw" {
		t.Errorf("sent back: %v", back)
	}
}

func TestDefaults(t *testing.T) {
	pc := postgresConfig(map[string]any{"host": "h", "database": "Shop-DB", "username": "u", "password": "p"})
	if pc.Port != 5432 || pc.ViewSchemaFormat != "<schema>_governed" || pc.SystemSchema != "custos" || pc.SystemRole != "custos_shop_db" ||
		pc.UserRoleTemplate != "{username}" || pc.ViewSchema("app") != "app_governed" {
		t.Errorf("%+v", pc)
	}
	if r := defaultSystemRole(strings.Repeat("x", 80)); len(r) > 57 {
		t.Errorf("role %q too long for its audit role", r)
	}
	if a := auditRole(strings.Repeat("y", 60)); len(a) > 63 || !strings.HasSuffix(a, "_audit") {
		t.Errorf("audit role %q", a)
	}
}

func toJSONString(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func TestUnstorableEntitlements(t *testing.T) {
	ok := postgres.Entitlement{Role: "r", Username: "ü", IAM: "bim", Groups: []string{"a'b"}, Attributes: map[string][]string{"k": {"v"}}}
	if f := unstorable(ok); f != "" {
		t.Errorf("%+v refused for its %s", ok, f)
	}
	for want, e := range map[string]postgres.Entitlement{
		"name":       {Username: "a\x00"},
		"groups":     {Groups: []string{"ok", "b\x00"}},
		"purposes":   {Purposes: []string{"\x00"}},
		"attributes": {Attributes: map[string][]string{"k": {"v\x00"}}},
	} {
		if f := unstorable(e); f != want {
			t.Errorf("%+v: %q, want %q", e, f, want)
		}
	}
}

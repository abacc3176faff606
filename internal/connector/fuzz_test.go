package connector

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/errs"
)

// FuzzConnectionValidate decodes arbitrary connection blocks and checks
// that validation either accepts them or names fields under "connection".
func FuzzConnectionValidate(f *testing.F) {
	for _, seed := range []string{
		`{"handler":"PostgreSQL","hostname":"db","port":5432,"database":"shop","username":"u","password":"p"}`,
		`{"handler":"Snowflake","hostname":"h","database":"d","warehouse":"w","authenticationMethod":"keyPair","username":"u","userFiles":[{"keyName":"PRIV_KEY_FILE","content":"a2V5","userFilename":"k"}]}`,
		`{"handler":"Databricks","hostname":"h","httpPath":"p","authenticationMethod":"oAuthM2M","useCertificate":true}`,
		`{"handler":"Redshift","authenticationMethod":"okta"}`,
		`{"handler":"Google BigQuery","userFiles":[{"content":"%%%"}]}`,
		`{"handler":"Trino","port":-1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Connection
		if json.Unmarshal(data, &c) != nil {
			return
		}
		err := c.Validate("connection")
		if err == nil {
			return
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Fields) == 0 {
			t.Fatalf("unclassified error %v", err)
		}
		for _, fe := range e.Fields {
			if !strings.HasPrefix(fe.Field, "connection.") || fe.Message == "" {
				t.Fatalf("field error %+v", fe)
			}
		}
	})
}

// FuzzQueryText checks the first-keyword test on arbitrary statements.
func FuzzQueryText(f *testing.F) {
	for _, seed := range []string{"SELECT 1", "  -- c\n/* d */ ( WITH x AS (SELECT 1) SELECT * FROM x)", "/* open", "--", "DELETE FROM t", "valuesx", "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		err := checkQueryText(Query{SQL: sql, Field: "sources[0].query"})
		if err != nil && !errs.Is(err, errs.Invalid) {
			t.Fatalf("unclassified error %v", err)
		}
		if err == nil && !strings.Contains(strings.ToLower(sql), strings.ToLower(firstWord(sql))) {
			t.Fatalf("first word %q is not in %q", firstWord(sql), sql)
		}
	})
}

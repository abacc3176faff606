package clone

import (
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/cli/payload"
)

func TestNames(t *testing.T) {
	for key, want := range map[string]string{"snowflake.demo.url.com:3306/public/public": "snowflake.demo.url.com_3306_public_public",
		"data conditional masking": "data conditional masking", "../etc/passwd": "_etc_passwd", "..": "unnamed", "Ünïcode": "Ünïcode"} {
		if got := FileName(key); got != want {
			t.Errorf("FileName(%q) = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]string{"my-databricks": "MY_DATABRICKS_PASSWORD", "1st db": "CUSTOS_1ST_DB_PASSWORD",
		"snowflake.x.com:443/db/s": "SNOWFLAKE_X_COM_443_DB_S_PASSWORD", "--": "CUSTOS_PASSWORD"} {
		if got := EnvName(key, "PASSWORD"); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestAddPlaceholders(t *testing.T) {
	cases := map[string]string{
		`{"connectionKey":"k","connection":{"username":"u"}}`:                                     `password: '{{EnvVar "K_PASSWORD"}}'`,
		`{"connectionKey":"k","connection":{"username":"u","password":""}}`:                       `password: '{{EnvVar "K_PASSWORD"}}'`,
		`{"connectionKey":"k","connection":{"authenticationMethod":"oAuthM2M","clientId":"c"}}`:   `clientSecret: '{{EnvVar "K_CLIENT_SECRET"}}'`,
		`{"connectionKey":"k","connection":{"userFiles":[{"keyName":"KeyFile"}],"username":"u"}}`: `content: '{{ReadFile "KeyFile.b64"}}'`,
	}
	for in, want := range cases {
		doc, _ := payload.DecodeOrdered([]byte(in))
		y, _ := payload.ToYAML(AddPlaceholders(doc.(payload.Ordered)))
		if !strings.Contains(string(y), want) {
			t.Errorf("%s:\n%s\nlacks %s", in, y, want)
		}
	}
	doc, _ := payload.DecodeOrdered([]byte(`{"connectionKey":"k","connection":{"authenticationMethod":"kerberos","username":"u"}}`))
	if y, _ := payload.ToYAML(AddPlaceholders(doc.(payload.Ordered))); strings.Contains(string(y), "{{") {
		t.Errorf("kerberos needs no password:\n%s", y)
	}
}

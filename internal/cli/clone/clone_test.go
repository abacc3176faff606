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
	for _, method := range []string{"kerberos", "keyPair"} {
		doc, _ := payload.DecodeOrdered([]byte(`{"connectionKey":"k","connection":{"authenticationMethod":"` + method + `","username":"u"}}`))
		if y, _ := payload.ToYAML(AddPlaceholders(doc.(payload.Ordered))); strings.Contains(string(y), "{{") {
			t.Errorf("%s needs no password:\n%s", method, y)
		}
	}
}

// Text a server returns is written so that saving the file back sends the
// same text: a "{{" in it is data, not a placeholder that would read the
// environment or a file of the machine that saves it.
func TestClonedTextStaysLiteral(t *testing.T) {
	server := `{"connectionKey":"k","description":"steal {{EnvVar \"SECRET\"}} and {{ReadFile \"/etc/hostname\"}}",
		"tags":["a {{ b", "}} {{- x -}}"],"connection":{"username":"u"}}`
	doc, err := payload.DecodeOrdered([]byte(server))
	if err != nil {
		t.Fatal(err)
	}
	y, err := payload.ToYAML(AddPlaceholders(payload.Literal(doc).(payload.Ordered)))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := payload.Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	saved := &payload.Document{Path: "k.yaml", Data: parsed}
	env := map[string]string{"SECRET": "hunter2", "K_PASSWORD": "pw"}
	if err := saved.Resolve(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("resolving the cloned file: %v\n%s", err, y)
	}
	if got := saved.Data["description"]; got != `steal {{EnvVar "SECRET"}} and {{ReadFile "/etc/hostname"}}` {
		t.Fatalf("description saved as %q", got)
	}
	if got := saved.Data["tags"].([]any); got[0] != "a {{ b" || got[1] != "}} {{- x -}}" {
		t.Fatalf("tags saved as %q", got)
	}
	if got := saved.Data["connection"].(map[string]any)["password"]; got != "pw" {
		t.Fatalf("the placeholder clone adds must still resolve: %q", got)
	}
}

package api_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server/servertest"
)

// sampleConnection loads the sample database into a fresh PostgreSQL
// database and returns the V2 connection block that reaches it.
func sampleConnection(t *testing.T) map[string]any {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	port, _ := strconv.Atoi(u.Port())
	password, _ := u.User.Password()
	return map[string]any{"handler": "PostgreSQL", "hostname": u.Hostname(), "port": port,
		"database": strings.TrimPrefix(u.Path, "/"), "username": u.User.Username(), "password": password}
}

func TestV2RegisterSample(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		conn := sampleConnection(t)
		r := env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "sample", "connection": conn})
		t.Logf("%s", r.Body)
		r = env.Admin(t, 200, "GET", "/api/v2/data/sample", nil)
		t.Logf("%s", r.Body)
		r = env.Admin(t, 200, "GET", "/api/v2/data/sample/sources", nil)
		t.Logf("%s", r.Body)
	})
}

package activity_test

import (
	"os"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// Marking read takes any number of ids (a body may hold more than a
// database accepts parameters in one statement).
func TestMarkManyRead(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		ids := make([]int64, 70000)
		for i := range ids {
			ids[i] = int64(i + 1)
		}
		var out struct {
			Marked int64 `json:"marked"`
		}
		env.Must(t, 200, servertest.AdminKey, "PUT", "/activity/read", map[string]any{"ids": ids}).JSON(t, &out)
		if out.Marked != 0 {
			t.Fatalf("marked %d of nothing unread", out.Marked)
		}
	})
}

package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/server/servertest"
)

// On a project that admits everyone automatically, a member whose row an
// owner denied cannot act under it again by switching to it; one whose row
// expired comes back as the policy admits them.
func TestCurrentProjectAfterDenialOrExpiry(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		w := newPWorld(t, env)
		den, denKey := env.NewUser(t, "den@example.com")
		exp, expKey := env.NewUser(t, "exp@example.com")
		pid := w.saveV2("name: Open\nprojectKey: open\nsubscriptionPolicy: {type: anyone, automaticSubscription: true}\n")
		path := fmt.Sprintf("/project/%d", pid)
		current := fmt.Sprintf("/project/current/%d", pid)
		rows := map[int64]int64{}
		for key, user := range map[string]int64{denKey: den, expKey: exp} {
			var m struct {
				ID int64 `json:"subscriptionId"`
			}
			w.do(key, 200, "POST", path+"/members", map[string]any{"profileId": user}, &m)
			rows[user] = m.ID
			w.do(key, 200, "POST", current, nil, nil)
			w.do(key, 200, "POST", "/project/current/null", nil, nil)
		}
		w.admin(200, "PUT", fmt.Sprintf("%s/members/%d", path, rows[den]), map[string]any{"state": "denied"}, nil)
		w.do(denKey, 403, "POST", current, nil, nil)

		until := time.Now().Add(700 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		w.admin(200, "PUT", fmt.Sprintf("%s/members/%d", path, rows[exp]), map[string]any{"state": "subscribed", "expiration": until}, nil)
		time.Sleep(time.Second)
		w.do(expKey, 200, "POST", current, nil, nil)
	})
}

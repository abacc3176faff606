package api_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// selfService lists the changes any authenticated user may make, to their
// own things (or that are reads sent as POST); every other change must be
// refused to a user without permissions.
var selfService = map[string]bool{
	"POST /bim/apikey":                                               true, // their own key
	"POST /bim/apikey/authenticate":                                  true, // public
	"POST /bim/apikey/impersonate":                                   true, // public; checks the key's permission
	"POST /bim/iam/{iamid}/user/authenticate":                        true, // public
	"POST /bim/token":                                                true, // their own tokens
	"POST /jobs/statuses":                                            true, // a read
	"POST /policy/search":                                            true, // a read
	"POST /subscription/getPendingRequestsForUser":                   true, // a read
	"PUT /activity/read":                                             true, // their own feed
	"POST /dataSource/subscribe":                                     true, // a request for themselves
	"DELETE /dataSource/{dataSourceId}/unsubscribe":                  true, // their own subscription
	"DELETE /project/{projectId}/unsubscribe":                        true, // their own membership
	"POST /project/{projectId}/members/{subscriptionId}/acknowledge": true, // their own membership
	"POST /project/current/{projectId}":                              true, // what they act under
	"PUT /dataSource/detectRemoteChanges":                            true, // acts on the caller's own data sources only
}

var param = regexp.MustCompile(`\{([^}]+)\}`)

// TestEveryChangeNeedsItsPermission calls every change-making route of the
// OpenAPI document as a user without any permission, on objects that
// belong to others, and expects a refusal (or a not found): no route may
// change something for a caller it does not check. It also reads every
// route, as that user and as the administrator, and expects no stored
// password in any answer.
func TestEveryChangeNeedsItsPermission(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	victimID, _ := env.NewUser(t, "victim@example.com")
	_, mallory := env.NewUser(t, "mallory@example.com")
	g := env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "Staff"}).Map(t)
	m := env.Admin(t, 200, "POST", fmt.Sprintf("/bim/group/%v/user", g["id"]), map[string]any{"iamid": "bim", "userid": "victim@example.com"}).Map(t)
	env.Admin(t, 200, "PUT", "/bim/iam/bim/user/victim@example.com/authorizations/Dept/Finance", nil)
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "PII.SSN"}}})
	ds := env.Admin(t, 200, "POST", "/snowflake/handler", map[string]any{
		"private": true, "blobHandler": map[string]any{"scheme": "https", "url": ""}, "blobHandlerType": "Snowflake",
		"recordFormat": "json", "type": "queryable", "name": "Warehouse Orders", "sqlTableName": "warehouse_orders",
		"organization": "example",
		"handler": map[string]any{"metadata": map[string]any{"ssl": true, "port": 443, "hostname": "acme.snowflakecomputing.com",
			"warehouse": "WH", "username": "svc", "password": "hunter2-s3cr3t", "database": "SALES", "schema": "PUBLIC",
			"table": "ORDERS", "authenticationMethod": "userPassword"}}}).Body
	dsID := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(string(ds))
	if dsID == nil {
		t.Fatalf("snowflake handler: %s", ds)
	}
	env.Admin(t, 200, "POST", "/api/v2/purpose", "name: Research\nacknowledgement: Research only.\n")
	purposes := env.Admin(t, 200, "GET", "/governance/purpose", nil).Body
	purposeID := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(string(purposes))[1]
	pol := env.Admin(t, 200, "POST", "/api/v2/policy", "name: Everyone\npolicyKey: everyone\ntype: subscription\nactions:\n  type: anyone\n").Map(t)
	prj := env.Admin(t, 200, "POST", "/api/v2/project", "name: Team\nprojectKey: team\nsubscriptionPolicy:\n  type: manual\n").Map(t)
	env.Admin(t, 200, "POST", "/sdd/classifier", map[string]any{"name": "ACCT", "displayName": "Acct", "description": "d",
		"type": "regex", "config": map[string]any{"regex": "^[0-9]{9}$", "tags": []string{"Discovered.acct"}}})
	env.Admin(t, 200, "POST", "/sdd/template", map[string]any{"name": "TPL", "displayName": "Tpl", "description": "d",
		"classifiers": []any{map[string]any{"name": "ACCT"}}})
	keys := env.Admin(t, 200, "GET", "/bim/iam/bim/user/admin/apikeys", nil).Body
	keyID := regexp.MustCompile(`"keyid":(\d+)`).FindStringSubmatch(string(keys))[1]
	values := map[string]string{
		"iamid": "bim", "userid": "victim@example.com", "id": "1", "groupId": fmt.Sprint(g["id"]),
		"groupuserid": fmt.Sprint(m["id"]), "keyid": keyID, "permission": "AUDIT", "modelType": "user",
		"modelId": fmt.Sprint(victimID), "key": "Dept", "value": "Finance", "attributeName": "Dept",
		"attributeValue": "Sales", "disable": "true", "dataSourceId": dsID[1], "handlerId": "1",
		"connectionKey": "snowflake", "policyKey": "everyone", "policyId": fmt.Sprint(pol["policyId"]),
		"projectKey": "team", "projectId": fmt.Sprint(prj["projectId"]), "name": "Research",
		"purposeId": purposeID, "classifierName": "ACCT", "templateName": "TPL", "tag": "PII.SSN",
		"subscriptionId": "1", "type": "disable",
	}
	doc := env.Must(t, 200, "", "GET", "/openapi.json", nil).Map(t)
	checked := 0
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			method = strings.ToUpper(method)
			if method == "GET" {
				url := param.ReplaceAllStringFunc(path, func(p string) string { return values[p[1:len(p)-1]] })
				// Reads are open or refused by design; none shows a secret,
				// not even to the administrator.
				for _, key := range []string{mallory, servertest.AdminKey} {
					r := env.Do(t, key, method, strings.ReplaceAll(url, " ", "%20"), nil)
					if strings.Contains(string(r.Body), "hunter2-s3cr3t") {
						t.Errorf("GET %s shows a connection password: %s", path, r.Body)
					}
				}
				continue
			}
			if selfService[method+" "+path] {
				continue
			}
			url := param.ReplaceAllStringFunc(path, func(p string) string {
				v, ok := values[p[1:len(p)-1]]
				if !ok {
					t.Fatalf("no value for %s in %s", p, path)
				}
				return v
			})
			r := env.Do(t, mallory, method, strings.ReplaceAll(url, " ", "%20"), "{}")
			if r.Status < 300 {
				t.Errorf("%s %s: a user without permissions got %d: %s", method, path, r.Status, r.Body)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d routes checked", checked)
	}
	// The objects are untouched.
	env.Admin(t, 200, "GET", "/bim/group/"+fmt.Sprint(g["id"]), nil)
	env.Admin(t, 200, "GET", "/dataSource/"+dsID[1], nil)
	if n := env.App.API.AuditFallbacks(); n != 0 {
		t.Fatalf("%d changes without their own audit record", n)
	}
}

package api_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

func detect(t testing.TB, env *servertest.Env, body map[string]any) {
	t.Helper()
	var res struct {
		BulkID          string `json:"bulkId"`
		SchemaDetection struct {
			Jobs []string `json:"jobs"`
		} `json:"schemaDetection"`
	}
	env.Admin(t, 200, "PUT", "/dataSource/detectRemoteChanges", body).JSON(t, &res)
	if res.BulkID == "" || len(res.SchemaDetection.Jobs) == 0 {
		t.Fatalf("detectRemoteChanges started nothing: %+v", res)
	}
	waitJobs(t, env, res.SchemaDetection.Jobs)
}

func TestSchemaMonitoring(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		remote := sampleRemote(t)
		post(t, env, 200, map[string]any{"connectionKey": "sample", "connection": remote.conn, "options": noSDD})
		products := getDS(t, env, "Shop Products")
		contacts := getDS(t, env, "Shop Customer Contacts")
		remote.exec(t, `CREATE TABLE shop.returns (return_id bigint PRIMARY KEY, reason text);
			ALTER TABLE shop.products ADD COLUMN "Color" text;
			ALTER TABLE shop.orders ALTER COLUMN quantity TYPE bigint;
			ALTER TABLE shop.orders DROP COLUMN tracking_number;
			DROP VIEW shop.customer_contacts`)
		detect(t, env, map[string]any{})

		// A new table: registered and tagged New.
		ret := getDS(t, env, "Shop Returns")
		if !slices.Equal(ret.tagNames(), []string{"New"}) || ret.Tags[0].Context != "schemaMonitoring" {
			t.Fatalf("new table: %+v", ret)
		}
		// A new column: flagged and tagged New; the others untouched.
		d := dictionary(t, env, products.ID)
		last := d.Metadata[len(d.Metadata)-1]
		if last.Name != "Color" || !last.IsNew || len(last.Tags) != 1 || last.Tags[0].Name != "New" || d.Metadata[0].IsNew {
			t.Fatalf("new column: %+v", d.Metadata)
		}
		// A changed type and a dropped column.
		od := dictionary(t, env, getDS(t, env, "Shop Orders").ID)
		for _, c := range od.Metadata {
			if c.Name == "tracking_number" {
				t.Fatalf("the dropped column is still registered")
			}
			if c.Name == "quantity" && (c.DataType != "bigint" || c.IsNew) {
				t.Fatalf("retyped column: %+v", c)
			}
		}
		// A removed view: disabled, not deleted (hardDelete is false).
		if c := getDS(t, env, "Shop Customer Contacts"); !c.Disabled || deref(c.DisabledReason) != "removed" || c.ID != contacts.ID {
			t.Fatalf("removed view: %+v", c)
		}
		// It comes back when the view does.
		remote.exec(t, `CREATE VIEW shop.customer_contacts AS SELECT customer_id, email FROM shop.customers`)
		detect(t, env, map[string]any{"schemaEvolutionId": getDS(t, env, "Shop Orders").SchemaEvolutionID})
		if c := getDS(t, env, "Shop Customer Contacts"); c.Disabled || len(dictionary(t, env, c.ID).Metadata) != 2 {
			t.Fatalf("restored view: %+v", c)
		}
		// A data source disabled by hand stays disabled; one deleted by hand stays deleted.
		env.Admin(t, 200, "DELETE", fmt.Sprintf("/dataSource/%d?hardDelete=true", ret.ID), nil)
		env.Admin(t, 200, "DELETE", fmt.Sprintf("/dataSource/%d", products.ID), nil)
		detect(t, env, map[string]any{"database": remote.conn["database"]})
		env.Must(t, 404, servertest.AdminKey, "GET", "/dataSource/name/Shop%20Returns", nil)
		if p := getDS(t, env, "Shop Products"); !p.Disabled || deref(p.DisabledReason) != "user" {
			t.Fatalf("products re-enabled by monitoring: %+v", p)
		}
		// Column detection on one data source only.
		remote.exec(t, `ALTER TABLE shop.orders ADD COLUMN note text; ALTER TABLE "Marketing"."Loyalty Members" ADD COLUMN x int`)
		detect(t, env, map[string]any{"dataSourceIds": []int64{getDS(t, env, "Shop Orders").ID}})
		if n := len(dictionary(t, env, getDS(t, env, "Marketing Loyalty Members").ID).Metadata); n != 7 {
			t.Fatalf("a data source outside the request was updated: %d columns", n)
		}
		if od := dictionary(t, env, getDS(t, env, "Shop Orders").ID); od.Metadata[len(od.Metadata)-1].Name != "note" {
			t.Fatalf("column detection missed the new column")
		}
	})
}

func jobsWait(ctx context.Context, app *server.App, id string) (*store.Job, error) {
	found, err := jobs.Wait(ctx, app.DB, []string{id}, 30*time.Second, 50*time.Millisecond)
	if err != nil {
		return nil, err
	}
	return found[id], nil
}

func TestSchemaMonitoringRunsOnSchedule(t *testing.T) {
	env := servertest.New(t, servertest.SQLite, func(c *server.Config) { c.SchemaMonitorInterval = 300 * time.Millisecond })
	remote := sampleRemote(t)
	post(t, env, 200, map[string]any{"connectionKey": "sample", "connection": remote.conn, "options": noSDD})
	remote.exec(t, `CREATE TABLE shop.later (id int)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := env.Do(t, servertest.AdminKey, "GET", "/dataSource/name/Shop%20Later", nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("schema monitoring did not register the new table")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRegistrationSurvivesARestart interrupts a registration job (its server
// "died" holding it) and checks that the next server to start resumes it.
func TestRegistrationSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	env := servertest.New(t, servertest.SQLite, func(c *server.Config) { c.DataDir = dir })
	remote := sampleRemote(t)
	res := post(t, env, 200, map[string]any{"connectionKey": "sample", "connection": remote.conn, "options": noSDD})
	ctx := context.Background()
	db := env.App.DB
	// Undo the job's work and mark it as held by a server that stopped.
	var conn int64
	if err := db.QueryRow(ctx, `SELECT id FROM connections`).Scan(&conn); err != nil {
		t.Fatal(err)
	}
	list, err := db.DataSourcesOfConnection(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if err := db.DeleteDataSource(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `UPDATE jobs SET state = 'active', lease_owner = 'gone', lease_expires = $2, finished_at = NULL
		WHERE id = $1`, res.JobID, store.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	cfg := server.Defaults()
	cfg.DataDir, cfg.LogLevel = dir, "error"
	app, err := server.New(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	stop := app.Start()
	defer stop()
	found, err := jobsWait(ctx, app, res.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if found.State != store.JobCompleted || found.Attempts != 2 {
		t.Fatalf("resumed job: %s after %d attempts (%v)", found.State, found.Attempts, deref(found.Output))
	}
	if n := countDataSources(t, env); n != 6 {
		t.Fatalf("%d data sources after resuming", n)
	}
}

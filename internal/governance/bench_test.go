package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// population sizes a benchmark store.
type population struct {
	sources, columns, policies, tags, groups int
}

// populate fills the store in bulk: tags, groups, data sources with
// columns (three in ten tagged), an owner each, and generated policies of
// every kind gated by those tags. It returns the data source ids.
func populate(b *testing.B, f *fixture, pop population) []int64 {
	b.Helper()
	rng := rand.New(rand.NewSource(1))
	var tagNames []string
	for i := 0; i < pop.tags; i++ {
		tagNames = append(tagNames, fmt.Sprintf("Bench.Family%d.Tag%d", i%10, i))
	}
	var in []tags.TagInput
	for _, n := range tagNames {
		in = append(in, tags.TagInput{Name: n})
	}
	_, err := f.app.Tags.Save(f.ctx, f.root, nil, in)
	f.must(err)
	tagIDs := map[string]int64{}
	for _, n := range tagNames {
		t, err := f.app.DB.GetTagByName(f.ctx, n)
		f.must(err)
		tagIDs[n] = t.ID
	}
	for i := 0; i < pop.groups; i++ {
		f.group(fmt.Sprintf("Group%d", i))
	}
	owner := f.user("owner")
	var ids []int64
	start := time.Now()
	f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
		now := store.Now()
		var first int64
		rows := make([][]any, 0, pop.sources)
		for i := 0; i < pop.sources; i++ {
			rows = append(rows, []any{fmt.Sprintf("bench source %d", i), "PostgreSQL", "table", store.DataSourceEnabled, now, now})
		}
		if err := bulk(f.ctx, tx, "data_sources", "name, technology, remote_kind, status, created_at, updated_at", rows); err != nil {
			return err
		}
		if err := tx.QueryRow(f.ctx, `SELECT MIN(id) FROM data_sources WHERE name LIKE 'bench source %'`).Scan(&first); err != nil {
			return err
		}
		for i := 0; i < pop.sources; i++ {
			ids = append(ids, first+int64(i))
		}
		var cols, tagRows, owners [][]any
		for _, id := range ids {
			for c := 0; c < pop.columns; c++ {
				name := fmt.Sprintf("c%d", c)
				cols = append(cols, []any{id, name, c, "text", true, false, false, now, now})
				if rng.Intn(10) < 3 {
					tag := tagNames[rng.Intn(len(tagNames))]
					tagRows = append(tagRows, []any{"column", store.ColumnModelID(id, name), tagIDs[tag], "curated", "manual", now})
				}
			}
			owners = append(owners, []any{id, "user", owner, "owner", "READ", now, now})
		}
		if err := bulk(f.ctx, tx, "data_source_columns", "data_source_id, name, position, data_type, nullable, primary_key, is_new, created_at, updated_at", cols); err != nil {
			return err
		}
		if err := bulk(f.ctx, tx, "model_tags", "model_type, model_id, tag_id, source, context, created_at", tagRows); err != nil {
			return err
		}
		if err := bulk(f.ctx, tx, "data_source_access", "data_source_id, model_type, model_id, state, access_grant, created_at, updated_at", owners); err != nil {
			return err
		}
		var pols [][]any
		for i := 0; i < pop.policies; i++ {
			p := benchPolicy(i, tagNames, pop.groups)
			doc, err := json.Marshal(p)
			if err != nil {
				return err
			}
			pols = append(pols, []any{p.PolicyKey, p.Name, string(p.Type), string(doc), now, now})
		}
		return bulk(f.ctx, tx, "policies", "policy_key, name, type, document, created_at, updated_at", pols)
	}))
	b.Logf("populated %d data sources x %d columns and %d policies in %v", pop.sources, pop.columns, pop.policies, time.Since(start))
	return ids
}

// bulk inserts rows with multi-row VALUES statements.
func bulk(ctx context.Context, tx *store.Tx, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	per := len(rows[0])
	batch := 900 / per
	for lo := 0; lo < len(rows); lo += batch {
		hi := min(lo+batch, len(rows))
		var a store.Args
		var values []string
		for _, r := range rows[lo:hi] {
			values = append(values, store.List(&a, r))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (`+columns+`) VALUES `+strings.Join(values, ", "), a...); err != nil {
			return err
		}
	}
	return nil
}

// benchPolicy generates policy i: masks, row filters and subscription
// policies, each gated by one tag.
func benchPolicy(i int, tagNames []string, groups int) *policy.Policy {
	tag := tagNames[i%len(tagNames)]
	group := fmt.Sprintf("Group%d", i%groups)
	p := &policy.Policy{PolicyKey: fmt.Sprintf("bench policy %d", i), Name: fmt.Sprintf("Bench Policy %d", i),
		Type: policy.TypeData, Circumstances: []policy.Circumstance{{Type: policy.CircColumnTags, Tag: tag}}}
	fields := []policy.FieldSelector{{Type: policy.FieldColumnTags, ColumnTag: tag}}
	except := &policy.Condition{Operator: policy.OpAny, Groups: []string{group}}
	switch i % 5 {
	case 0:
		p.Data = []policy.DataAction{{Rules: []policy.Rule{{Type: policy.RuleMasking, Exceptions: except,
			Masking: &policy.MaskingRule{Fields: fields, Masking: policy.Masking{Type: policy.MaskHash}}}}}}
	case 1:
		p.Data = []policy.DataAction{{Rules: []policy.Rule{{Type: policy.RuleMasking, Exceptions: except,
			Masking: &policy.MaskingRule{Fields: fields, Masking: policy.Masking{Type: policy.MaskConstant, Constant: "REDACTED"}}}}}}
	case 2:
		p.Data = []policy.DataAction{{Rules: []policy.Rule{{Type: policy.RuleRowCustomWhere, Exceptions: except,
			CustomWhere: &policy.CustomWhereRule{Predicate: fmt.Sprintf("@columnTagged('%s') IN (@attributes('region'))", tag)}}}}}
	case 3:
		p.Data = []policy.DataAction{{Rules: []policy.Rule{{Type: policy.RuleMasking, Inclusions: except,
			Masking: &policy.MaskingRule{Fields: fields, ConditionalPredicate: fmt.Sprintf("@columnTagged('%s') = 'x'", tag),
				Masking: policy.Masking{Type: policy.MaskNull}}}}}}
	default:
		p.Type, p.Data = policy.TypeSubscription, nil
		p.Subscription = &policy.SubscriptionAction{Type: policy.SubEntitlements, AutomaticSubscription: true,
			Entitlements: &policy.Condition{Operator: policy.OpAny, Groups: []string{group}}}
	}
	return p
}

// BenchmarkPolicyInfo serves GET /dataSource/{id}/users/{profileId}/policyInfo
// and the effective-plan endpoint through the whole HTTP stack with 1,000
// policies and 10,000 data sources.
func BenchmarkPolicyInfo(b *testing.B) {
	f := newFixture(b, servertest.SQLite)
	ids := populate(b, f, population{sources: 10000, columns: 20, policies: 1000, tags: 200, groups: 10})
	f.join("Group1", "analyst")
	f.attribute("analyst", "region", "EU")
	uid := f.users["analyst"]
	start := time.Now()
	f.must(f.app.Governance.Load(f.ctx))
	b.Logf("engine loaded in %v", time.Since(start))
	for _, endpoint := range []string{"policyInfo", "decision"} {
		b.Run(endpoint, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ds := ids[i%len(ids)]
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/dataSource/%d/users/%d/%s", f.env.URL, ds, uid, endpoint), nil)
				req.Header.Set("Authorization", admin)
				resp, err := f.env.Client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkLoad measures loading the engine from the store at start:
// 10,000 data sources x 30 columns with 1,000 policies, on each backend.
func BenchmarkLoad(b *testing.B) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			f := newFixture(b, backend)
			populate(b, f, population{sources: 10000, columns: 30, policies: 1000, tags: 200, groups: 10})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				svc := governance.New(f.app.DB, governance.Options{})
				if err := svc.Load(f.ctx); err != nil {
					b.Fatal(err)
				}
				if _, ok := svc.Plan(1); !ok && i == 0 {
					b.Log("data source 1 has no plan")
				}
			}
		})
	}
}

// BenchmarkGrants measures Grants on a data source with an automatic
// entitlements subscription, 2,000 users and a few subscription rows.
func BenchmarkGrants(b *testing.B) {
	f := newFixture(b, servertest.SQLite)
	ids := populate(b, f, population{sources: 1000, columns: 10, policies: 100, tags: 20, groups: 10})
	var rows [][]any
	now := store.Now()
	for i := 0; i < 2000; i++ {
		rows = append(rows, []any{"bim", fmt.Sprintf("bench-user-%d", i), fmt.Sprintf("Bench User %d", i), now, now})
	}
	f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
		if err := bulk(f.ctx, tx, "users", "iamid, userid, name, created_at, updated_at", rows); err != nil {
			return err
		}
		_, err := tx.Exec(f.ctx, `INSERT INTO group_members (group_id, user_id, created_at, updated_at)
			SELECT $1, id, $2, $2 FROM users WHERE userid LIKE 'bench-user-%' AND id % 3 = 0`, f.groups["Group4"], now)
		return err
	}))
	f.must(f.app.Governance.Load(f.ctx))
	var target int64
	for _, id := range ids {
		if p, ok := f.app.Governance.Plan(id); ok && p.Read != nil && p.Read.AutomaticSubscription {
			target = id
			break
		}
	}
	if target == 0 {
		b.Fatal("no data source with an automatic subscription")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, err := f.app.Governance.Grants(f.ctx, target)
		if err != nil || len(g) == 0 {
			b.Fatalf("%v %d", err, len(g))
		}
	}
}

// BenchmarkSync measures reading the change log when nothing changed (what
// every decision endpoint does first) and when one change is waiting, with
// 10,000 changes already applied, on each backend.
func BenchmarkSync(b *testing.B) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		b.Run(string(backend), func(b *testing.B) {
			f := newFixture(b, backend)
			var rows [][]any
			now := store.Now()
			for i := 0; i < 10000; i++ {
				rows = append(rows, []any{"bench", "user", fmt.Sprint(-i - 1), now})
			}
			f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
				return bulk(f.ctx, tx, "changes", "kind, model_type, model_id, created_at", rows)
			}))
			svc := f.app.Governance
			f.must(svc.Load(f.ctx))
			f.must(svc.Sync(f.ctx))
			b.Run("idle", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := svc.Sync(f.ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("one change", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := f.app.DB.AppendChange(f.ctx, "bench", "user", "-1"); err != nil {
						b.Fatal(err)
					}
					if err := svc.Sync(f.ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

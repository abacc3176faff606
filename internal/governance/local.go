package governance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// HandlerView is one version of a data source's policy handler (its own
// policy) in the V1 jsonPolicies form.
type HandlerView struct {
	ID           int64
	DataSourceID int64
	CreatedBy    *int64
	JSONPolicies json.RawMessage
	CreatedAt    time.Time
}

// requireManager allows governors and the data source's owners.
func requireManager(ctx context.Context, q *store.Queries, p *auth.Principal, ds *store.DataSource) error {
	if p.Has(auth.Governance) {
		return nil
	}
	owner, err := access.IsOwner(ctx, q, ds.ID, p.UserID)
	if err != nil {
		return err
	}
	if !owner {
		return errs.Forbiddenf("only the owners of data source %q and governors may change its policies", ds.Name)
	}
	return nil
}

func getDataSource(ctx context.Context, q *store.Queries, id int64) (*store.DataSource, error) {
	ds, err := q.GetDataSource(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("data source %d does not exist", id)
	}
	return ds, err
}

// SaveLocalPolicy saves a new version of a data source's own policy from the
// V1 jsonPolicies (the handler object or the bare array). Entries applied by
// global policies (with a "global" object) are ignored. Owners and
// governors may save.
func (s *Service) SaveLocalPolicy(ctx context.Context, p *auth.Principal, dataSourceID int64, body []byte) (*HandlerView, error) {
	lp, err := policy.DecodeLocalV1(body)
	if err != nil {
		return nil, err
	}
	actionPath, subPath := jsonPoliciesPaths(body)
	return s.saveLocal(ctx, p, dataSourceID, lp, localRefs(lp, actionPath, subPath))
}

// SaveHandlerRules saves a data source's own policy from the rule-object
// form {"dataSourceId", "jsonRules", "policyHandler"}.
func (s *Service) SaveHandlerRules(ctx context.Context, p *auth.Principal, body []byte) (*HandlerView, error) {
	var head struct {
		DataSourceID *int64 `json:"dataSourceId"`
	}
	if err := decodeLoose(body, &head); err != nil {
		return nil, err
	}
	if head.DataSourceID == nil {
		return nil, errs.Field("dataSourceId", errs.CodeRequired, "dataSourceId is required")
	}
	lp, err := policy.DecodeHandlerV1(body)
	if err != nil {
		return nil, err
	}
	refs := localRefs(lp, func(i int) string { return fmt.Sprintf("jsonRules[%d]", i) }, "jsonRules")
	return s.saveLocal(ctx, p, *head.DataSourceID, lp, refs)
}

func (s *Service) saveLocal(ctx context.Context, p *auth.Principal, dataSourceID int64, lp *policy.LocalPolicy, refs []reference) (*HandlerView, error) {
	var out *HandlerView
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ds, err := getDataSource(ctx, &tx.Queries, dataSourceID)
		if err != nil {
			return err
		}
		if err := requireManager(ctx, &tx.Queries, p, ds); err != nil {
			return err
		}
		cols, err := tx.ColumnsOf(ctx, dataSourceID)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, c := range cols[dataSourceID] {
			names[c.Name] = true
		}
		if err := checkRefs(ctx, &tx.Queries, refs, names); err != nil {
			return err
		}
		now := store.Now()
		doc, err := json.Marshal(encodeLocal(lp, p.UserID, now))
		if err != nil {
			return err
		}
		h := &handler{DataSourceID: dataSourceID, JSONPolicies: doc, CreatedBy: &p.UserID, CreatedAt: now}
		if err := insertHandler(ctx, &tx.Queries, h); err != nil {
			return err
		}
		if err := tx.AppendChange(ctx, KindLocalPolicySaved, "datasource", strconv.FormatInt(dataSourceID, 10)); err != nil {
			return err
		}
		out = &HandlerView{ID: h.ID, DataSourceID: dataSourceID, CreatedBy: h.CreatedBy, JSONPolicies: json.RawMessage(doc),
			CreatedAt: now}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "policyHandlerSave", Success: true, TargetType: "datasource",
			TargetID: strconv.FormatInt(ds.ID, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name,
			Details: map[string]any{"handlerId": h.ID}})
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// encodeLocal writes a local policy as V1 jsonPolicies entries.
func encodeLocal(lp *policy.LocalPolicy, by int64, at time.Time) []map[string]any {
	out := []map[string]any{}
	stamp := func(v any) map[string]any {
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["createdBy"], m["createdAt"] = by, at
		return m
	}
	if len(lp.Data) > 0 {
		for _, a := range (&policy.Policy{Type: policy.TypeData, Data: lp.Data}).ToV1().Actions {
			out = append(out, stamp(a))
		}
	}
	if lp.Subscription != nil {
		out = append(out, stamp((&policy.Policy{Type: policy.TypeSubscription, Subscription: lp.Subscription}).ToV1().Actions[0]))
	}
	return out
}

// jsonPoliciesPaths maps the actions DecodeLocalV1 returns to their place
// in the payload (it skips global entries and takes out the subscription).
func jsonPoliciesPaths(body []byte) (func(int) string, string) {
	var items []map[string]json.RawMessage
	var tree any
	if err := decodeLoose(body, &tree); err == nil {
		if m, ok := tree.(map[string]any); ok {
			tree = m["jsonPolicies"]
		}
		b, _ := json.Marshal(tree)
		_ = json.Unmarshal(b, &items)
	}
	var paths []string
	sub := "jsonPolicies"
	for i, it := range items {
		if _, global := it["global"]; global || it == nil {
			continue
		}
		var typ string
		_ = json.Unmarshal(it["type"], &typ)
		if strings.EqualFold(strings.TrimSpace(typ), "subscription") {
			sub = fmt.Sprintf("jsonPolicies[%d]", i)
			continue
		}
		paths = append(paths, fmt.Sprintf("jsonPolicies[%d]", i))
	}
	return func(i int) string {
		if i < len(paths) {
			return paths[i]
		}
		return "jsonPolicies"
	}, sub
}

// decodeLoose reads JSON or YAML into v without type errors for unknown
// shapes (the engine reports those with their paths).
func decodeLoose(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err == nil {
		return nil
	}
	var m any
	if err := yamlToJSON(body, &m); err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, v); err != nil {
		return errs.BadRequestf("the request body has the wrong shape: %v", err)
	}
	return nil
}

// LocalPolicy returns the newest version of a data source's policy
// handler, or a view with ID 0 and no policies when it has none.
func (s *Service) LocalPolicy(ctx context.Context, dataSourceID int64) (*HandlerView, error) {
	if _, err := getDataSource(ctx, &s.db.Queries, dataSourceID); err != nil {
		return nil, err
	}
	hs, err := handlers(ctx, &s.db.Queries, dataSourceID)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return &HandlerView{DataSourceID: dataSourceID, JSONPolicies: json.RawMessage("[]")}, nil
	}
	h := hs[0]
	return &HandlerView{ID: h.ID, DataSourceID: dataSourceID, CreatedBy: h.CreatedBy,
		JSONPolicies: json.RawMessage(h.JSONPolicies), CreatedAt: h.CreatedAt}, nil
}

// HandlerDiff compares two versions of a data source's policy handler:
// current defaults to the newest, previous to the one before current.
type HandlerDiff struct {
	Current    json.RawMessage
	Previous   json.RawMessage
	HasChanges bool
}

// Diff compares two versions of a data source's own policy.
func (s *Service) Diff(ctx context.Context, dataSourceID int64, previousID, currentID *int64) (*HandlerDiff, error) {
	if _, err := getDataSource(ctx, &s.db.Queries, dataSourceID); err != nil {
		return nil, err
	}
	hs, err := handlers(ctx, &s.db.Queries, dataSourceID)
	if err != nil {
		return nil, err
	}
	find := func(param string, id int64) (int, error) {
		for i, h := range hs {
			if h.ID == id {
				return i, nil
			}
		}
		return 0, errs.NotFoundf("%s %d is not a version of the policy handler of data source %d", param, id, dataSourceID)
	}
	cur := 0
	if currentID != nil {
		if cur, err = find("currentHandlerId", *currentID); err != nil {
			return nil, err
		}
	}
	prev := cur + 1
	if previousID != nil {
		if prev, err = find("previousHandlerId", *previousID); err != nil {
			return nil, err
		}
	}
	at := func(i int) json.RawMessage {
		if i < len(hs) {
			return json.RawMessage(hs[i].JSONPolicies)
		}
		return json.RawMessage("[]")
	}
	d := &HandlerDiff{Current: at(cur), Previous: at(prev)}
	d.HasChanges = !sameJSON(withoutStamps(d.Current), withoutStamps(d.Previous))
	return d, nil
}

// withoutStamps drops createdAt/createdBy from jsonPolicies entries, which
// differ between versions that say the same.
func withoutStamps(doc json.RawMessage) json.RawMessage {
	var items []map[string]any
	if json.Unmarshal(doc, &items) != nil {
		return doc
	}
	for _, it := range items {
		delete(it, "createdAt")
		delete(it, "createdBy")
	}
	b, _ := json.Marshal(items)
	return b
}

// ApplyPolicy applies a global policy whose circumstances are null ("when
// selected by data owners") to a data source. Owners of the data source and
// governors may apply.
func (s *Service) ApplyPolicy(ctx context.Context, p *auth.Principal, policyID, dataSourceID int64, merged bool) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		sp, err := getPolicy(ctx, &tx.Queries, policyID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.Field("policyId", errs.CodeNotFound, "global policy %d does not exist", policyID)
		} else if err != nil {
			return err
		}
		if !sp.OwnerApplied {
			return errs.Field("policyId", errs.CodeInvalid, "global policy %q applies by its circumstances; only policies whose circumstances are null are applied by data owners", sp.Name)
		}
		ds, err := tx.GetDataSource(ctx, dataSourceID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.Field("dataSourceId", errs.CodeNotFound, "data source %d does not exist", dataSourceID)
		} else if err != nil {
			return err
		}
		if err := requireManager(ctx, &tx.Queries, p, ds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO policy_applications (policy_id, data_source_id, merged, applied_by, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (policy_id, data_source_id) DO UPDATE SET merged = EXCLUDED.merged`,
			policyID, dataSourceID, merged, p.UserID, store.Now()); err != nil {
			return err
		}
		if err := tx.AppendChange(ctx, KindPolicyApplied, "datasource", strconv.FormatInt(dataSourceID, 10)); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "policyApply", Success: true, TargetType: "datasource",
			TargetID: strconv.FormatInt(ds.ID, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name, PolicyID: &sp.ID,
			PolicyName: sp.Name, Details: map[string]any{"merged": merged}})
	})
	if err == nil {
		s.synced(ctx)
	}
	return err
}

// DataSourcePolicies returns the policies in force on a data source as V1
// jsonPolicies entries: its own (as saved), then those of the global
// policies applying to it, each with a "global" object saying which policy
// it comes from and whether it lost a conflict. excludeGlobal leaves the
// global ones out; withCustom false leaves custom WHERE rules out.
func (s *Service) DataSourcePolicies(ctx context.Context, dataSourceID int64, withCustom, excludeGlobal bool) ([]map[string]any, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	h, err := s.LocalPolicy(ctx, dataSourceID)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	if err := json.Unmarshal(h.JSONPolicies, &out); err != nil {
		return nil, err
	}
	plan, ok := s.Plan(dataSourceID)
	if !excludeGlobal && ok {
		entries, err := s.globalEntries(ctx, plan, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	if !withCustom {
		kept := out[:0]
		for _, e := range out {
			if e["type"] != "customWhere" {
				kept = append(kept, e)
			}
		}
		out = kept
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// globalEntries renders the global policies of a plan as jsonPolicies
// entries with their "global" object. applied, when not nil, marks each
// rule with ruleAppliedForUser.
func (s *Service) globalEntries(ctx context.Context, plan *policy.Plan, applied map[policy.RuleRef]bool) ([]map[string]any, error) {
	active, disabled := map[policy.RuleRef]bool{}, map[policy.RuleRef]bool{}
	for _, c := range plan.Columns {
		for _, m := range c.Masks {
			active[*m.Source] = true
		}
		for _, d := range c.Disabled {
			disabled[*d] = true
		}
	}
	var out []map[string]any
	for _, ref := range plan.Policies {
		if ref.Local {
			continue
		}
		v, err := s.Policy(ctx, ref.ID)
		if errs.Is(err, errs.NotFound) {
			continue // deleted since the plan was made
		} else if err != nil {
			return nil, err
		}
		v1 := v.V1()
		tags := v.Policy.References().Tags
		var tag any
		if len(tags) > 0 {
			tag = tags[0]
		}
		for ai, a := range v1.Actions {
			entry := toMap(a)
			conflict, allDisabled, rules := any(nil), true, 0
			if rs, ok := entry["rules"].([]any); ok {
				for ri, r := range rs {
					rr := policy.RuleRef{Policy: *ref, Action: ai, Rule: ri}
					if disabled[rr] {
						conflict = string(policy.ConflictMasking)
					}
					if !disabled[rr] || active[rr] {
						allDisabled = false
					}
					if applied != nil {
						if m, ok := r.(map[string]any); ok {
							m["ruleAppliedForUser"] = applied[rr]
						}
					}
					rules++
				}
			}
			if rules == 0 {
				allDisabled = false
			}
			created := v.CreatedAt
			entry["global"] = map[string]any{"id": v.ID, "tag": tag, "name": v.Policy.Name, "reason": nil,
				"staged": v.Policy.Staged, "deleted": false, "conflict": conflict, "disabled": allDisabled,
				"metadata": nil, "template": v.Policy.Template, "createdAt": created, "createdBy": v.CreatedByName,
				"policyKey": v.Policy.PolicyKey, "updatedAt": v.UpdatedAt, "clonedFrom": v.ClonedFrom,
				"certification": len(v.Policy.Certification) > 0 && string(v.Policy.Certification) != "null",
				"createdByName": v.CreatedByName, "changedOnApply": []string{}, "systemGenerated": v.SystemGenerated,
				"ownerRestrictions": v.Policy.OwnerRestrictions}
			out = append(out, entry)
		}
	}
	return out, nil
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// Rules renders a data source's plan as text, one rule a line: which users
// each mask and row rule applies to and what it does.
func (s *Service) Rules(dataSourceID int64) string {
	plan, ok := s.Plan(dataSourceID)
	if !ok {
		return ""
	}
	var lines []string
	for _, a := range []struct {
		grant string
		acc   *policy.Access
	}{{"READ", plan.Read}, {"WRITE", plan.Write}} {
		if a.acc != nil {
			lines = append(lines, fmt.Sprintf("subscribe %s: %s when %s (automatic: %v)", a.grant, a.acc.Type,
				a.acc.Who.String(), a.acc.AutomaticSubscription))
		}
	}
	for _, c := range plan.Columns {
		for _, m := range c.Masks {
			line := fmt.Sprintf("mask %q with %s when %s", c.Column, m.Masking.String(), m.AppliesTo.String())
			if m.Rows != nil {
				line += " on rows where " + m.Rows.String()
			}
			lines = append(lines, line+" ["+refText(m.Source)+"]")
		}
	}
	for _, r := range plan.Rows {
		lines = append(lines, fmt.Sprintf("rows %s when %s: %s [%s]", r.Kind, r.AppliesTo.String(), rowEffect(r.Where, r.Time, r.Minimize), refText(r.Source)))
	}
	return strings.Join(lines, "\n")
}

func refText(r *policy.RuleRef) string {
	if r == nil {
		return ""
	}
	if r.Policy.Local {
		return fmt.Sprintf("local action %d rule %d", r.Action, r.Rule)
	}
	return fmt.Sprintf("policy %q action %d rule %d", r.Policy.Key, r.Action, r.Rule)
}

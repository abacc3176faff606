package governance

import (
	"context"
	"encoding/json"
	"time"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// PolicySummary is what a V1 data source object says about the policies in
// force on it, so that a script listing unprotected data sources sees the
// global ones too.
type PolicySummary struct {
	// SubscriptionType is the V1 name (automatic, approval, policy,
	// manual) of the READ subscription rule; "" when no policy says who
	// may subscribe.
	SubscriptionType string
	// SubscriptionPolicy is the V1 subscription object of the policy
	// deciding who may subscribe (the data source's own, else the first
	// global one); nil when none applies.
	SubscriptionPolicy any
	// Global lists the global policies applying, by ascending id.
	Global []GlobalPolicyRef
	// HandlerID is the newest version of the data source's own policy.
	HandlerID *int64
	// DataPolicies says that masks or row rules apply.
	DataPolicies bool
	// Conflict says that a masking rule lost to another on a column.
	Conflict bool
}

// GlobalPolicyRef is an entry of a data source's globalPolicies.
type GlobalPolicyRef struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	PolicyKey string    `json:"policyKey"`
	Disabled  bool      `json:"disabled" doc:"every rule of the policy lost a conflict here"`
	Reason    *string   `json:"reason"`
	Template  bool      `json:"template"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy" doc:"the name of the user who created the policy"`
}

// PolicySummaries returns, by data source id, what the policies in force
// on each data source are; data sources the engine has no plan for (gone,
// or not loaded yet) are absent.
func (s *Service) PolicySummaries(ctx context.Context, ids []int64) (map[int64]*PolicySummary, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	out := make(map[int64]*PolicySummary, len(ids))
	globals := map[int64]*PolicyView{}
	global := func(id int64) (*PolicyView, error) {
		if v, ok := globals[id]; ok {
			return v, nil
		}
		v, err := s.Policy(ctx, id)
		if errs.Is(err, errs.NotFound) {
			v, err = nil, nil // deleted since the plan was made
		}
		globals[id] = v
		return v, err
	}
	handlerIDs, err := newestHandlers(ctx, &s.db.Queries, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		plan, ok := s.Plan(id)
		if !ok {
			continue
		}
		sum := &PolicySummary{DataPolicies: len(plan.Columns) > 0 || len(plan.Rows) > 0}
		if h, ok := handlerIDs[id]; ok {
			sum.HandlerID = &h
		}
		lost := map[policy.PolicyRef]bool{}
		won := map[policy.PolicyRef]bool{}
		for _, c := range plan.Columns {
			for _, d := range c.Disabled {
				lost[d.Policy], sum.Conflict = true, true
			}
			for _, m := range c.Masks {
				won[m.Source.Policy] = true
			}
		}
		for _, r := range plan.Rows {
			won[r.Source.Policy] = true
		}
		for _, ref := range plan.Policies {
			if ref.Local {
				continue
			}
			v, err := global(ref.ID)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			sum.Global = append(sum.Global, GlobalPolicyRef{ID: v.ID, Name: v.Policy.Name, Type: string(v.Policy.Type),
				PolicyKey: v.Policy.PolicyKey, Disabled: lost[*ref] && !won[*ref], Template: v.Policy.Template,
				CreatedAt: v.CreatedAt, CreatedBy: v.CreatedByName})
		}
		if plan.Read != nil {
			sum.SubscriptionType = policy.V1SubscriptionType(plan.Read.Type)
			if len(plan.Read.Policies) > 0 {
				if sum.SubscriptionPolicy, err = s.subscriptionObject(ctx, id, plan.Read.Policies[0], global); err != nil {
					return nil, err
				}
			}
		}
		out[id] = sum
	}
	return out, nil
}

// subscriptionObject is the V1 subscription object of the policy ref: the
// data source's own subscription entry, or a global policy's action.
func (s *Service) subscriptionObject(ctx context.Context, dataSourceID int64, ref *policy.PolicyRef,
	global func(int64) (*PolicyView, error)) (any, error) {
	if !ref.Local {
		v, err := global(ref.ID)
		if err != nil || v == nil || len(v.V1().Actions) == 0 {
			return nil, err
		}
		return v.V1().Actions[0], nil
	}
	h, err := s.LocalPolicy(ctx, dataSourceID)
	if err != nil {
		return nil, err
	}
	var entries []map[string]any
	if err := json.Unmarshal(h.JSONPolicies, &entries); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e["type"] == "subscription" {
			return e, nil
		}
	}
	return nil, nil
}

// newestHandlers returns the newest policy handler version of each data
// source that has one.
func newestHandlers(ctx context.Context, q *store.Queries, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	for len(ids) > 1000 { // keep the list of ids a statement both stores run
		part, err := newestHandlers(ctx, q, ids[:1000])
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			out[k] = v
		}
		ids = ids[1000:]
	}
	if len(ids) == 0 {
		return out, nil
	}
	var a store.Args
	rows, err := q.Query(ctx, `SELECT data_source_id, MAX(id) FROM policy_handlers WHERE data_source_id IN `+
		store.List(&a, ids)+` GROUP BY data_source_id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ds, h int64
		if err := rows.Scan(&ds, &h); err != nil {
			return nil, err
		}
		out[ds] = h
	}
	return out, rows.Err()
}

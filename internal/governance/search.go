package governance

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Search modes of POST /policy/search.
const (
	ModeSimilarPolicies     = "similarPolicies"     // policies like the one in the body
	ModeImpactedUsers       = "impactedUsers"       // users the policy in the body affects
	ModeImpactedDataSources = "impactedDataSources" // data sources the policy in the body applies to
)

// SearchQuery is a policy search.
type SearchQuery struct {
	Type       string // data or subscription
	Scope      string // global or local; empty: both
	SearchText string
	SortField  string // name (default), createdBy, createdAt, state, isNotApplied, scope
	Descending bool
	Offset     int
	Size       int
	Mode       string
	Excluded   []int64 // global policy ids left out
	// Facets narrow plain searches; Policy is the subject of the modes.
	Facets Facets
	Policy *policy.Policy
	// PolicyID names a stored policy as the subject of the modes.
	PolicyID *int64
}

// Facets narrow a plain search: a hit must match every non-empty list
// (with any of its values).
type Facets struct {
	RuleTypes         []string `json:"ruleTypes"` // V1 rule types: masking, minimization, time, prerequisite, visibility, customWhere; or a subscription type
	Tags              []string `json:"tags"`
	Groups            []string `json:"groups"`
	Purposes          []string `json:"purposes"`
	CircumstanceTypes []string `json:"circumstanceTypes"`
}

// SearchHit is a policy found by a plain or similarPolicies search.
type SearchHit struct {
	Name           string              `json:"name"`
	CreatedBy      string              `json:"createdBy"`
	State          string              `json:"state"`
	IsNotApplied   bool                `json:"isNotApplied"`
	Scope          string              `json:"scope"`
	Type           string              `json:"type"`
	GlobalPolicyID *int64              `json:"globalPolicyId"`
	PolicyID       *int64              `json:"policyId"`
	DataSourceID   *int64              `json:"dataSourceId"`
	CreatedAt      time.Time           `json:"createdAt"`
	DetailLabels   map[string][]string `json:"detailLabels"`
	EnforcedOn     Enforced            `json:"enforcedOn"`
}

// Enforced lists the data sources a policy is enforced on.
type Enforced struct {
	Count int         `json:"count"`
	Hits  []SourceRef `json:"hits"`
}

// SourceRef names a data source.
type SourceRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ImpactedUser is a user a policy affects.
type ImpactedUser struct {
	ProfileID int64  `json:"profileId"`
	Name      string `json:"name"`
	UserID    string `json:"userid"`
	IAMID     string `json:"iamid"`
}

// DecodeAnyPolicy reads a policy given as a V2 payload or a V1 object.
func DecodeAnyPolicy(body []byte) (*policy.Policy, error) {
	p, err := policy.DecodeV2(body)
	if err == nil {
		return p, nil
	}
	if p1, err1 := policy.DecodeV1(body); err1 == nil {
		return p1, nil
	}
	return nil, err
}

// Search answers POST /policy/search: hits (SearchHit, SourceRef or
// ImpactedUser by mode) and their count.
func (s *Service) Search(ctx context.Context, q SearchQuery) (any, int, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, 0, err
	}
	switch q.Mode {
	case "":
		hits, err := s.searchPolicies(ctx, q, nil)
		if err != nil {
			return nil, 0, err
		}
		return pageHits(hits, q), len(hits), nil
	case ModeSimilarPolicies:
		subject, id, err := s.subject(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		hits, err := s.searchPolicies(ctx, q, func(v *PolicyView) bool { return (id == 0 || v.ID != id) && similar(subject, v.Policy) })
		if err != nil {
			return nil, 0, err
		}
		return pageHits(hits, q), len(hits), nil
	case ModeImpactedDataSources, ModeImpactedUsers:
		subject, id, err := s.subject(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		ix, ids, err := s.reach(ctx, subject, id)
		if err != nil {
			return nil, 0, err
		}
		if q.Mode == ModeImpactedDataSources {
			refs := s.sourceRefs(ids)
			return pageSlice(refs, q.Offset, q.Size), len(refs), nil
		}
		users, err := s.impactedUsers(ctx, ix, subject, id, ids)
		if err != nil {
			return nil, 0, err
		}
		return pageSlice(users, q.Offset, q.Size), len(users), nil
	}
	return nil, 0, errs.BadRequestf("query parameter mode must be %s, %s or %s, not %q", ModeSimilarPolicies,
		ModeImpactedUsers, ModeImpactedDataSources, q.Mode)
}

// subject is the policy a mode is about: the one in the body, or a stored
// one named by id.
func (s *Service) subject(ctx context.Context, q SearchQuery) (*policy.Policy, int64, error) {
	if q.PolicyID != nil {
		v, err := s.Policy(ctx, *q.PolicyID)
		if err != nil {
			return nil, 0, err
		}
		return v.Policy, v.ID, nil
	}
	if q.Policy == nil {
		return nil, 0, errs.Field("body", errs.CodeRequired, "mode %s needs a policy in the body (V1 or V2), or {\"policyId\": n}", q.Mode)
	}
	return q.Policy, 0, nil
}

// reach returns the data sources a policy applies to, and an index holding
// their plans: the live one for a stored policy, or a scratch index built
// from the store for a policy not saved.
func (s *Service) reach(ctx context.Context, p *policy.Policy, id int64) (*policy.Index, []int64, error) {
	if id != 0 {
		return s.index(), s.index().AppliesTo(id), nil
	}
	const scratchID = 1
	ix := policy.NewIndex()
	if _, err := ix.UpsertPolicy(scratchID, p); err != nil {
		return nil, nil, err
	}
	loaded, err := loadSources(ctx, &s.db.Queries, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, ls := range loaded {
		if ls.row.Status == store.DataSourceEnabled {
			if _, err := ix.UpsertDataSource(s.dataSourceOf(ls)); err != nil {
				continue
			}
		}
	}
	return ix, ix.AppliesTo(scratchID), nil
}

// impactedUsers lists the enabled users a policy affects on the data
// sources it reaches: for a subscription policy those it admits, for a
// data policy those some rule applies to.
func (s *Service) impactedUsers(ctx context.Context, ix *policy.Index, p *policy.Policy, id int64, sources []int64) ([]ImpactedUser, error) {
	ref := id
	if ref == 0 {
		ref = 1
	}
	hit := map[int64]bool{}
	for _, u := range s.people.enabled() {
		for _, ds := range sources {
			plan, ok := ix.Plan(ds)
			if !ok || plan == nil {
				continue
			}
			if p.Type == policy.TypeSubscription {
				grant := policy.GrantRead
				if p.Subscription != nil && p.Subscription.AccessGrant == policy.GrantWrite {
					grant = policy.GrantWrite
				}
				a := plan.Read
				if grant == policy.GrantWrite {
					a = plan.Write
				}
				if a != nil && a.Type != policy.SubManual && u.ent.Qualifies(a.Who) {
					hit[u.id] = true
					break
				}
				continue
			}
			affected := false
			for _, r := range policy.Evaluate(plan, u.ent).Policies {
				affected = affected || (!r.Local && r.ID == ref)
			}
			if affected {
				hit[u.id] = true
				break
			}
		}
	}
	ids := sortedIDs(hit)
	users, err := s.db.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]ImpactedUser, 0, len(ids))
	for _, uid := range ids {
		if u := users[uid]; u != nil {
			out = append(out, ImpactedUser{ProfileID: u.ID, Name: u.Name, UserID: u.UserID, IAMID: u.IAMID})
		}
	}
	return out, nil
}

func (s *Service) sourceRefs(ids []int64) []SourceRef {
	out := make([]SourceRef, 0, len(ids))
	for _, id := range ids {
		name, _ := s.sourceName(id)
		out = append(out, SourceRef{ID: id, Name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// searchPolicies builds the hits of a plain search; keep, when set, further
// narrows global policies.
func (s *Service) searchPolicies(ctx context.Context, q SearchQuery, keep func(*PolicyView) bool) ([]SearchHit, error) {
	excluded := map[int64]bool{}
	for _, id := range q.Excluded {
		excluded[id] = true
	}
	needle := strings.ToLower(q.SearchText)
	var hits []SearchHit
	if q.Scope == "" || q.Scope == "global" {
		views, err := s.Policies(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range views {
			p := v.Policy
			switch {
			case excluded[v.ID]:
			case q.Type != "" && string(p.Type) != q.Type:
			case needle != "" && !strings.Contains(strings.ToLower(p.Name), needle):
			case keep != nil && !keep(v):
			default:
				labels := labelsOf(p.Type, p.Subscription, p.Data, p.References(), p.Circumstances)
				if !q.Facets.match(labels) {
					continue
				}
				id := v.ID
				state := "active"
				if p.Staged {
					state = "staged"
				}
				on := s.sourceRefs(s.index().AppliesTo(v.ID))
				hits = append(hits, SearchHit{Name: p.Name, CreatedBy: v.CreatedByName, State: state,
					IsNotApplied: len(on) == 0, Scope: "global", Type: string(p.Type), GlobalPolicyID: &id,
					CreatedAt: v.CreatedAt, DetailLabels: labels, EnforcedOn: Enforced{Count: len(on), Hits: on}})
			}
		}
	}
	if (q.Scope == "" || q.Scope == "local") && keep == nil {
		local, err := s.localHits(ctx, q, needle)
		if err != nil {
			return nil, err
		}
		hits = append(hits, local...)
	}
	sortHits(hits, q.SortField, q.Descending)
	return hits, nil
}

// localHits lists the data sources' own policies as search hits.
func (s *Service) localHits(ctx context.Context, q SearchQuery, needle string) ([]SearchHit, error) {
	rows, err := s.db.Query(ctx, `SELECT h.id, h.data_source_id, h.json_policies, h.created_by, h.created_at, d.name
		FROM policy_handlers h JOIN data_sources d ON d.id = h.data_source_id WHERE h.id IN
		(SELECT MAX(id) FROM policy_handlers GROUP BY data_source_id) ORDER BY h.id`)
	if err != nil {
		return nil, err
	}
	type row struct {
		h    handler
		name string
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.h.ID, &r.h.DataSourceID, &r.h.JSONPolicies, &r.h.CreatedBy, &r.h.CreatedAt, &r.name); err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var creators []int64
	for _, r := range list {
		if r.h.CreatedBy != nil {
			creators = append(creators, *r.h.CreatedBy)
		}
	}
	names, err := userNames(ctx, &s.db.Queries, creators)
	if err != nil {
		return nil, err
	}
	var hits []SearchHit
	for _, r := range list {
		lp, err := policy.DecodeStoredLocalV1(r.h.JSONPolicies)
		if err != nil || (len(lp.Data) == 0 && lp.Subscription == nil) {
			continue
		}
		typ := policy.TypeData
		if len(lp.Data) == 0 {
			typ = policy.TypeSubscription
		}
		if q.Type != "" && string(typ) != q.Type {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(r.name), needle) {
			continue
		}
		refs := (&policy.Policy{Type: typ, Data: lp.Data, Subscription: lp.Subscription}).References()
		labels := labelsOf(typ, lp.Subscription, lp.Data, refs, nil)
		if !q.Facets.match(labels) {
			continue
		}
		hid, ds := r.h.ID, r.h.DataSourceID
		by := ""
		if r.h.CreatedBy != nil {
			by = names[*r.h.CreatedBy]
		}
		hits = append(hits, SearchHit{Name: r.name, CreatedBy: by, State: "active", Scope: "local", Type: string(typ),
			PolicyID: &hid, DataSourceID: &ds, CreatedAt: r.h.CreatedAt, DetailLabels: labels,
			EnforcedOn: Enforced{Count: 1, Hits: []SourceRef{{ID: ds, Name: r.name}}}})
	}
	return hits, nil
}

var v1RuleTypes = map[policy.RuleType]string{
	policy.RuleMasking: "masking", policy.RuleMinimization: "minimization", policy.RuleTimeRestriction: "time",
	policy.RulePurposeRestriction: "prerequisite", policy.RuleRowEntitlements: "visibility",
	policy.RuleRowCustomWhere: "customWhere",
}

// labelsOf describes a policy for searches: its rule types, tags, groups,
// purposes and circumstance types.
func labelsOf(t policy.PolicyType, sub *policy.SubscriptionAction, data []policy.DataAction, refs policy.References, circs []policy.Circumstance) map[string][]string {
	set := map[string]map[string]bool{"ruleType": {}, "tags": {}, "groups": {}, "purposes": {}, "circumstanceTypes": {}}
	if t == policy.TypeSubscription && sub != nil {
		set["ruleType"][string(sub.Type)] = true
	}
	for _, a := range data {
		for _, r := range a.Rules {
			set["ruleType"][v1RuleTypes[r.Type]] = true
		}
	}
	for _, x := range refs.Tags {
		set["tags"][x] = true
	}
	for _, x := range refs.Groups {
		set["groups"][x] = true
	}
	for _, x := range refs.Purposes {
		set["purposes"][x] = true
	}
	for _, c := range circs {
		set["circumstanceTypes"][string(c.Type)] = true
	}
	out := map[string][]string{}
	for k, vs := range set {
		if len(vs) > 0 {
			out[k] = sortedKeys(vs)
		}
	}
	return out
}

func (f Facets) match(labels map[string][]string) bool {
	has := func(key string, want []string) bool {
		if len(want) == 0 {
			return true
		}
		for _, w := range want {
			for _, v := range labels[key] {
				if strings.EqualFold(v, w) {
					return true
				}
			}
		}
		return false
	}
	return has("ruleType", f.RuleTypes) && has("tags", f.Tags) && has("groups", f.Groups) &&
		has("purposes", f.Purposes) && has("circumstanceTypes", f.CircumstanceTypes)
}

// similar reports whether b is like a: the same type, a rule type in
// common, and a tag in common (or neither naming a tag).
func similar(a, b *policy.Policy) bool {
	if a.Type != b.Type {
		return false
	}
	la := labelsOf(a.Type, a.Subscription, a.Data, a.References(), a.Circumstances)
	lb := labelsOf(b.Type, b.Subscription, b.Data, b.References(), b.Circumstances)
	common := func(key string) bool {
		for _, x := range la[key] {
			for _, y := range lb[key] {
				if x == y {
					return true
				}
			}
		}
		return false
	}
	tags := common("tags") || (len(la["tags"]) == 0 && len(lb["tags"]) == 0)
	return common("ruleType") && tags
}

func sortHits(hits []SearchHit, field string, desc bool) {
	key := func(h SearchHit) string {
		switch field {
		case "createdBy":
			return strings.ToLower(h.CreatedBy)
		case "createdAt":
			return h.CreatedAt.UTC().Format(time.RFC3339Nano)
		case "state":
			return h.State
		case "isNotApplied":
			return fmt.Sprint(h.IsNotApplied)
		case "scope":
			return h.Scope
		}
		return strings.ToLower(h.Name)
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := key(hits[i]), key(hits[j])
		if a == b {
			return false
		}
		return (a < b) != desc
	})
}

func pageHits(hits []SearchHit, q SearchQuery) []SearchHit {
	out := pageSlice(hits, q.Offset, q.Size)
	if out == nil {
		out = []SearchHit{}
	}
	return out
}

func pageSlice[T any](list []T, offset, size int) []T {
	lo := min(offset, len(list))
	hi := len(list)
	if size > 0 {
		hi = min(lo+size, len(list))
	}
	return list[lo:hi]
}

// ParseFacets reads the facets of a plain search body (an object; absent
// fields do not narrow).
func ParseFacets(body []byte) (Facets, error) {
	var f Facets
	if len(strings.TrimSpace(string(body))) == 0 {
		return f, nil
	}
	if err := decodeLoose(body, &f); err != nil {
		return f, err
	}
	return f, nil
}

// PolicyReference reads {"policyId": n} or {"id": n} without actions as a
// reference to a stored policy.
func PolicyReference(body []byte) *int64 {
	var m map[string]json.RawMessage
	if decodeLoose(body, &m) != nil {
		return nil
	}
	if _, hasActions := m["actions"]; hasActions {
		return nil
	}
	for _, k := range []string{"policyId", "id"} {
		var id int64
		if raw, ok := m[k]; ok && json.Unmarshal(raw, &id) == nil {
			return &id
		}
	}
	return nil
}

package governance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/policy/expr"
	"github.com/custosdata/custos/internal/store"
)

// UserDecision is what the policies decide for one user on one data source.
type UserDecision struct {
	DataSourceID   int64
	DataSourceName string
	ProfileID      int64
	Enabled        bool
	User           policy.User
	// Acting is what the user acts under in this decision: their current
	// project's purposes and limit, or those of the project asked about.
	Acting   Acting
	Plan     *policy.Plan
	Decision *policy.Decision
	// Grant is what the user holds now, from a subscription row (theirs or
	// a group's) or an automatic policy: WRITE, READ or empty.
	Grant string
	// Subscription is the user's own subscription row, if any.
	Subscription *access.Entry
}

// Decide evaluates a data source's plan for a user. Holders of
// FETCH_POLICY_INFO or GOVERNANCE may ask about anyone, users about
// themselves. projectID, when given, evaluates the user acting under that
// project (its purposes and, when it is equalized, its limit) instead of
// their current one.
func (s *Service) Decide(ctx context.Context, p *auth.Principal, dataSourceID, userID int64, projectID *int64) (*UserDecision, error) {
	if !p.Is(userID) {
		if err := p.Require(auth.FetchPolicyInfo, auth.Governance); err != nil {
			return nil, err
		}
	}
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	ds, err := getDataSource(ctx, &s.db.Queries, dataSourceID)
	if err != nil {
		return nil, err
	}
	plan, ok := s.Plan(dataSourceID)
	if !ok {
		return nil, errs.NotFoundf("data source %d is disabled: no policy applies to it", dataSourceID)
	}
	u, err := s.userFor(ctx, userID)
	if err != nil {
		return nil, err
	}
	pu, acting := u.user, s.people.actingOf(userID)
	if projectID != nil {
		if s.opts.ProjectActing == nil {
			return nil, errs.NotFoundf("project %d does not exist", *projectID)
		}
		if acting, err = s.opts.ProjectActing(ctx, &s.db.Queries, *projectID); err != nil {
			return nil, err
		}
		if as, ok := s.people.userAs(userID, acting); ok {
			pu = as
		} else {
			pu.Purposes = acting.Purposes
		}
	}
	ent := policy.NewEntitlements(pu)
	d := &UserDecision{DataSourceID: ds.ID, DataSourceName: ds.Name, ProfileID: userID, Enabled: u.enabled, User: pu,
		Acting: acting, Plan: plan, Decision: policy.Evaluate(plan, ent)}
	rows, err := access.OfDataSources(ctx, &s.db.Queries, []int64{dataSourceID})
	if err != nil {
		return nil, err
	}
	if !u.enabled {
		ent = nil // disabled users hold nothing
	}
	held := map[int64]string{}
	now := store.Now()
	member := map[int64]bool{}
	if st := s.people.get(userID); st != nil {
		for _, g := range st.groups {
			member[g] = true
		}
	}
	for _, e := range rows {
		mine := e.ModelType == access.ModelUser && e.ModelID == userID
		if mine {
			d.Subscription = e
		}
		if mine || (e.ModelType == access.ModelGroup && member[e.ModelID]) {
			merge(held, userID, rowGrant(plan, e, ent, now))
		}
	}
	merge(held, userID, automaticGrant(plan, ent))
	d.Grant = held[userID]
	return d, nil
}

type userState struct {
	user    policy.User
	enabled bool
}

// userFor returns the policy.User of any user (enabled or not).
func (s *Service) userFor(ctx context.Context, id int64) (*userState, error) {
	if pu, ok := s.people.user(id); ok {
		return &userState{user: pu, enabled: true}, nil
	}
	u, err := s.db.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("user %d does not exist", id)
	} else if err != nil {
		return nil, err
	}
	st := s.people.get(id)
	if st == nil {
		return &userState{user: policy.User{Username: u.UserID, IAMID: u.IAMID}, enabled: !u.Disabled}, nil
	}
	s.people.mu.RLock()
	defer s.people.mu.RUnlock()
	return &userState{user: s.people.userOf(st), enabled: st.enabled}, nil
}

// UnmaskUser is a user who sees a column as it is.
type UnmaskUser struct {
	ProfileID int64
	Name      string
	IAMID     string
	UserID    string
}

// UnmaskUsers lists the users who hold access to a data source and see the
// column unmasked. Governors, holders of FETCH_POLICY_INFO and the data
// source's owners may ask.
func (s *Service) UnmaskUsers(ctx context.Context, p *auth.Principal, dataSourceID int64, columnName string) ([]UnmaskUser, error) {
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	ds, err := getDataSource(ctx, &s.db.Queries, dataSourceID)
	if err != nil {
		return nil, err
	}
	if !p.Has(auth.FetchPolicyInfo) {
		if err := requireManager(ctx, &s.db.Queries, p, ds); err != nil {
			return nil, err
		}
	}
	cols, err := s.db.ColumnsOf(ctx, dataSourceID)
	if err != nil {
		return nil, err
	}
	found := false
	for _, c := range cols[dataSourceID] {
		found = found || c.Name == columnName
	}
	if !found {
		return nil, errs.NotFoundf("data source %d has no column %q", dataSourceID, columnName)
	}
	plan, ok := s.Plan(dataSourceID)
	if !ok {
		return nil, errs.NotFoundf("data source %d is disabled: no policy applies to it", dataSourceID)
	}
	grants, err := s.Grants(ctx, dataSourceID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, g := range grants {
		st := s.people.get(g.UserID)
		if st == nil || st.ent == nil {
			continue
		}
		masked := false
		for _, c := range policy.Evaluate(plan, st.ent).Columns {
			masked = masked || c.Column == columnName
		}
		if !masked {
			ids = append(ids, g.UserID)
		}
	}
	users, err := s.db.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]UnmaskUser, 0, len(ids))
	for _, id := range ids {
		if u := users[id]; u != nil {
			out = append(out, UnmaskUser{ProfileID: u.ID, Name: u.Name, IAMID: u.IAMID, UserID: u.UserID})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProfileID < out[j].ProfileID })
	return out, nil
}

// Visibilities are the values that let the user see rows under the
// entitlement row rules that apply to them (the literals of their bound
// filters), sorted.
func (d *UserDecision) Visibilities() []string {
	set := map[string]bool{}
	for _, r := range d.Decision.Rows {
		if r.Kind != policy.RowEntitlements || r.Where == nil {
			continue
		}
		expr.Walk(r.Where, func(e expr.Expr) bool {
			if s, ok := e.(expr.String); ok {
				set[s.Value] = true
			}
			return true
		})
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// VisibilityRuleApplies reports whether a row rule over the user's
// entitlements or purposes applies to the user.
func (d *UserDecision) VisibilityRuleApplies() bool {
	for _, r := range d.Decision.Rows {
		if r.Kind == policy.RowEntitlements || r.Kind == policy.RowPurpose {
			return true
		}
	}
	return d.Decision.NoRows
}

// AppliedRules are the rules that decided something for the user.
func (d *UserDecision) AppliedRules() map[policy.RuleRef]bool {
	out := map[policy.RuleRef]bool{}
	for _, c := range d.Decision.Columns {
		for cd := &c; cd != nil; cd = cd.Otherwise {
			if cd.Source != nil {
				out[*cd.Source] = true
			}
		}
	}
	for _, r := range d.Decision.Rows {
		if r.Source != nil {
			out[*r.Source] = true
		}
	}
	return out
}

// PolicySet renders the policies in force on the data source as jsonPolicies
// entries, each rule marked with whether it applied to the user.
func (s *Service) PolicySet(ctx context.Context, d *UserDecision) ([]map[string]any, error) {
	applied := d.AppliedRules()
	h, err := s.LocalPolicy(ctx, d.DataSourceID)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	if err := json.Unmarshal(h.JSONPolicies, &out); err != nil {
		return nil, err
	}
	ai := 0
	for _, e := range out {
		if e["type"] == "subscription" {
			continue
		}
		if rs, ok := e["rules"].([]any); ok {
			for ri, r := range rs {
				if m, ok := r.(map[string]any); ok {
					m["ruleAppliedForUser"] = applied[policy.RuleRef{Policy: policy.PolicyRef{ID: d.DataSourceID, Local: true}, Action: ai, Rule: ri}]
				}
			}
		}
		ai++
	}
	global, err := s.globalEntries(ctx, d.Plan, applied)
	if err != nil {
		return nil, err
	}
	out = append(out, global...)
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// rowEffect renders what a row rule keeps.
func rowEffect(where expr.Expr, t *policy.TimeFilter, m *policy.MinimizeFilter) string {
	switch {
	case t != nil:
		dir := "newer"
		if !t.Newer {
			dir = "older"
		}
		return fmt.Sprintf("%q %s than %d seconds", t.Column, dir, t.Seconds)
	case m != nil:
		return fmt.Sprintf("%d%% of the rows by %v", m.Percent, m.Columns)
	case where != nil:
		return where.String()
	}
	return "every row"
}

// RowEffect renders a row decision as text.
func RowEffect(r policy.RowDecision) string { return rowEffect(r.Where, r.Time, r.Minimize) }

func yamlToJSON(body []byte, v any) error {
	j, err := yaml.YAMLToJSON(body)
	if err != nil {
		return errs.BadRequestf("the request body is not valid JSON or YAML: %v", err)
	}
	if err := json.Unmarshal(j, v); err != nil {
		return errs.BadRequestf("the request body is not valid JSON or YAML: %v", err)
	}
	return nil
}

package projects

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Equalization states (checkEqualizationState).
const (
	EqualizationOff          = "off"                 // not equalized; members' entitlements agree, or there is nobody to compare
	EqualizationRecommended  = "recommended"         // not equalized, but members hold different entitlements
	EqualizationActive       = "active"              // equalized to exactly what every member shares
	EqualizationUpgrade      = "upgrade"             // equalized, and members now share more than the equalized set
	EqualizationNonCompliant = "nonCompliantMembers" // equalized, and a member lacks part of the set
)

// equalize applies an equalization input to pr (to be saved), reporting
// whether equalization changed. Turning it on without a set limits members
// to what they share now; saving again with it on keeps the set.
func (s *Service) equalize(ctx context.Context, q *store.Queries, pr, cur *Project, in *EqualizationInput, now time.Time) (bool, error) {
	if in == nil {
		return false, nil
	}
	if !in.On {
		if !pr.Equalized {
			return false, nil
		}
		pr.Equalized, pr.Equalization, pr.EqualizedAt = false, nil, nil
		return true, nil
	}
	set := in.Set
	if set == nil {
		if pr.Equalized && pr.Equalization != nil {
			return false, nil
		}
		members, err := s.memberIDs(ctx, q, pr, cur)
		if err != nil {
			return false, err
		}
		rec := s.recommend(members)
		set = &rec
	}
	norm := normalize(*set)
	if pr.Equalized && pr.Equalization != nil && sameEntitlements(*pr.Equalization, norm) {
		return false, nil
	}
	pr.Equalized, pr.Equalization, pr.EqualizedAt = true, &norm, &now
	return true, nil
}

// memberIDs lists the users who are active members of pr; a project being
// created has its creator.
func (s *Service) memberIDs(ctx context.Context, q *store.Queries, pr, cur *Project) ([]int64, error) {
	if cur == nil {
		if pr.CreatedBy == nil {
			return nil, nil
		}
		return []int64{*pr.CreatedBy}, nil
	}
	m, err := memberUsers(ctx, q, pr.ID)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// recommend is what every one of the users holds themselves: the groups
// and attribute values they share (nothing for nobody).
func (s *Service) recommend(users []int64) Entitlements {
	out := Entitlements{Groups: []string{}, Attributes: map[string][]string{}}
	if len(users) == 0 || s.eng == nil {
		return out
	}
	own := s.eng.OwnEntitlements(users)
	first := true
	groups := map[string]bool{}
	attrs := map[string]map[string]bool{}
	for _, id := range users {
		u, ok := own[id]
		if !ok {
			continue // disabled users are left out
		}
		ug := map[string]bool{}
		for _, g := range u.Groups {
			ug[g] = true
		}
		if first {
			groups = ug
			for n, vs := range u.Attributes {
				attrs[n] = map[string]bool{}
				for _, v := range vs {
					attrs[n][v] = true
				}
			}
			first = false
			continue
		}
		for g := range groups {
			if !ug[g] {
				delete(groups, g)
			}
		}
		for n, set := range attrs {
			have := map[string]bool{}
			for _, v := range u.Attributes[n] {
				have[v] = true
			}
			for v := range set {
				if !have[v] {
					delete(set, v)
				}
			}
			if len(set) == 0 {
				delete(attrs, n)
			}
		}
	}
	for g := range groups {
		out.Groups = append(out.Groups, g)
	}
	for n, set := range attrs {
		for v := range set {
			out.Attributes[n] = append(out.Attributes[n], v)
		}
	}
	return normalize(out)
}

// normalize sorts and deduplicates a set.
func normalize(e Entitlements) Entitlements {
	out := Entitlements{Groups: dedupe(e.Groups), Attributes: map[string][]string{}}
	for n, vs := range e.Attributes {
		if d := dedupe(vs); len(d) > 0 {
			out.Attributes[n] = d
		}
	}
	return out
}

func dedupe(vs []string) []string {
	set := map[string]bool{}
	out := []string{}
	for _, v := range vs {
		if !set[v] {
			set[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func sameEntitlements(a, b Entitlements) bool {
	return subset(a, b) && subset(b, a)
}

// subset reports whether every group and attribute value of a is in b.
func subset(a, b Entitlements) bool {
	bg := map[string]bool{}
	for _, g := range b.Groups {
		bg[g] = true
	}
	for _, g := range a.Groups {
		if !bg[g] {
			return false
		}
	}
	for n, vs := range a.Attributes {
		bv := map[string]bool{}
		for _, v := range b.Attributes[n] {
			bv[v] = true
		}
		for _, v := range vs {
			if !bv[v] {
				return false
			}
		}
	}
	return true
}

// lacks lists what u does not hold of e.
func lacks(u policy.User, e Entitlements) (groups []string, attrs []policy.Attribute) {
	ug := map[string]bool{}
	for _, g := range u.Groups {
		ug[g] = true
	}
	for _, g := range e.Groups {
		if !ug[g] {
			groups = append(groups, g)
		}
	}
	names := make([]string, 0, len(e.Attributes))
	for n := range e.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		have := map[string]bool{}
		for _, v := range u.Attributes[n] {
			have[v] = true
		}
		for _, v := range e.Attributes[n] {
			if !have[v] {
				attrs = append(attrs, policy.Attribute{Name: n, Value: v})
			}
		}
	}
	return groups, attrs
}

// EqualizationState says how a project stands with equalization (see the
// Equalization constants). Every user may ask.
func (s *Service) EqualizationState(ctx context.Context, p *auth.Principal, id int64) (string, error) {
	if err := s.fresh(ctx); err != nil {
		return "", err
	}
	q := &s.db.Queries
	pr, err := load(ctx, q, id)
	if err != nil {
		return "", err
	}
	members, err := s.memberIDs(ctx, q, pr, pr)
	if err != nil {
		return "", err
	}
	rec := s.recommend(members)
	if !pr.Equalized {
		own := s.eng.OwnEntitlements(members)
		for _, u := range own {
			if !sameEntitlements(normalize(Entitlements{Groups: u.Groups, Attributes: u.Attributes}), rec) {
				return EqualizationRecommended, nil
			}
		}
		return EqualizationOff, nil
	}
	set := Entitlements{}
	if pr.Equalization != nil {
		set = *pr.Equalization
	}
	for _, u := range s.eng.OwnEntitlements(members) {
		if g, a := lacks(u, set); len(g)+len(a) > 0 {
			return EqualizationNonCompliant, nil
		}
	}
	if !subset(rec, set) {
		return EqualizationUpgrade, nil
	}
	return EqualizationActive, nil
}

// Missing is what one member lacks of a set of entitlements.
type Missing struct {
	UserID         int64
	Name           string
	Username       string
	SubscriptionID int64
	Groups         []string
	Attributes     []policy.Attribute
}

// AuthCondition is one condition of checkEqualizedAuths: a group, or an
// attribute value.
type AuthCondition struct {
	Group     string
	Attribute *policy.Attribute
}

// CheckEqualizedAuths checks that every member holds the given conditions
// (with operator and, all of them; with or, one), or, with no conditions,
// the project's equalized entitlements. It returns whether they all do and
// what each member lacks. Members and managers may ask.
func (s *Service) CheckEqualizedAuths(ctx context.Context, p *auth.Principal, id int64, operator string, conds []AuthCondition) (bool, []Missing, error) {
	if err := s.fresh(ctx); err != nil {
		return false, nil, err
	}
	q := &s.db.Queries
	pr, err := load(ctx, q, id)
	if err != nil {
		return false, nil, err
	}
	if err := s.requireMemberOrManager(ctx, q, p, pr); err != nil {
		return false, nil, err
	}
	op := strings.ToLower(strings.TrimSpace(operator))
	switch op {
	case "", "and", "or":
	default:
		return false, nil, errs.Field("conditionsObj.operator", errs.CodeEnum, "conditionsObj.operator must be and or or, not %q", operator)
	}
	set := Entitlements{Attributes: map[string][]string{}}
	if len(conds) == 0 {
		if pr.Equalization != nil {
			set = *pr.Equalization
		}
		op = "and"
	}
	for i, c := range conds {
		switch {
		case c.Group != "":
			set.Groups = append(set.Groups, c.Group)
		case c.Attribute != nil:
			set.Attributes[c.Attribute.Name] = append(set.Attributes[c.Attribute.Name], c.Attribute.Value)
		default:
			f := fmt.Sprintf("conditionsObj.conditions[%d]", i)
			return false, nil, errs.Field(f, errs.CodeInvalid, "%s must name a group ({type: groups, group: {name}}) or an attribute", f)
		}
	}
	members, err := memberUsers(ctx, q, pr.ID)
	if err != nil {
		return false, nil, err
	}
	ids := make([]int64, 0, len(members))
	for uid := range members {
		ids = append(ids, uid)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	own := s.eng.OwnEntitlements(ids)
	users, err := q.UsersByID(ctx, ids)
	if err != nil {
		return false, nil, err
	}
	var out []Missing
	total := len(set.Groups)
	for _, vs := range set.Attributes {
		total += len(vs)
	}
	for _, uid := range ids {
		u, ok := own[uid]
		if !ok {
			continue
		}
		g, a := lacks(u, set)
		miss := len(g) + len(a)
		if miss == 0 || (op == "or" && miss < total) {
			continue
		}
		m := Missing{UserID: uid, SubscriptionID: members[uid].ID, Groups: g, Attributes: a}
		if su := users[uid]; su != nil {
			m.Name, m.Username = su.Name, su.UserID
		}
		out = append(out, m)
	}
	return len(out) == 0, out, nil
}

// requireMemberOrManager lets members and managers see a project's inner
// state.
func (s *Service) requireMemberOrManager(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project) error {
	if ok, err := s.manages(ctx, q, p, pr); err != nil || ok {
		return err
	}
	rows, err := membershipsOf(ctx, q, p.UserID, []int64{pr.ID})
	if err != nil {
		return err
	}
	now := store.Now()
	for _, m := range rows {
		if m.active(now) {
			return nil
		}
	}
	return errs.Forbiddenf("only members of project %q and its managers may see this", pr.Name)
}

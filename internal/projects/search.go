package projects

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
)

// Search modes (GET /project mode).
const (
	ModeFull   = 0 // the page of projects
	ModeCount  = 1 // only how many match
	ModeTag    = 4 // the tags of the matching projects, with counts
	ModeMinMax = 5 // the earliest and latest creation and update times
	ModeStatus = 6 // how many match per status
)

// Filter narrows a project search.
type Filter struct {
	// Subscription keeps projects by subscription type (automatic,
	// approval, policy, manual) or by the caller's status (owner, expert,
	// subscribed, pending, not_subscribed); both kinds may be mixed.
	Subscription []string
	Status       []string // open, closed
	SearchText   string   // in the name, description and documentation
	NameOnly     bool     // SearchText in the name only
	Tags         []string // a tag of the project, or a tag below it
	IsEqualized  *bool
	Snowflake    *bool // projects with a Snowflake workspace: custos has none
	DataSourceID *int64
	// IncludeDeleted lists disabled projects too.
	IncludeDeleted bool
	Mode           int
	SortField      string // name (default), status, updatedAt, createdAt
	Descending     bool
	Offset, Size   int
}

// Facets are the aggregates of the modes other than FULL.
type Facets struct {
	Tags   map[string]int       `json:"tags,omitempty"`
	Status map[string]int       `json:"status,omitempty"`
	Min    map[string]time.Time `json:"min,omitempty"`
	Max    map[string]time.Time `json:"max,omitempty"`
}

// SearchResult is a page of projects (mode FULL) or an aggregate.
type SearchResult struct {
	Hits   []*View
	Count  int
	Facets Facets
}

var subscriptionTypes = map[string]bool{"automatic": true, "approval": true, "policy": true, "manual": true}
var callerStatuses = map[string]bool{stateOwner: true, stateExpert: true, stateSubscribed: true, statePending: true,
	stateNotSubscribed: true, stateDenied: true}

// Search finds projects. Every user sees every project.
func (s *Service) Search(ctx context.Context, p *auth.Principal, f Filter) (*SearchResult, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	for _, v := range f.Subscription {
		if !subscriptionTypes[v] && !callerStatuses[v] {
			return nil, errs.BadRequestf("query parameter subscription must be a subscription type (automatic, approval, policy, manual) "+
				"or your status (owner, expert, subscribed, pending, not_subscribed), not %q", v)
		}
	}
	for _, v := range f.Status {
		if v != "open" && v != "closed" {
			return nil, errs.BadRequestf("query parameter status must be open or closed, not %q", v)
		}
	}
	switch f.Mode {
	case ModeFull, ModeCount, ModeTag, ModeMinMax, ModeStatus:
	default:
		return nil, errs.BadRequestf("query parameter mode must be 0 (FULL), 1 (COUNT), 4 (TAG), 5 (MIN_MAX) or 6 (STATUS), not %d", f.Mode)
	}
	q := &s.db.Queries
	all, err := allProjects(ctx, q)
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, q, p, all)
	if err != nil {
		return nil, err
	}
	types, statuses := map[string]bool{}, map[string]bool{}
	for _, v := range f.Subscription {
		if subscriptionTypes[v] {
			types[v] = true
		} else {
			statuses[v] = true
		}
	}
	needle := strings.ToLower(f.SearchText)
	var hits []*View
	for _, v := range views {
		if v.Deleted && !f.IncludeDeleted {
			continue
		}
		if len(types) > 0 && !types[v.Policy.V1Type()] {
			continue
		}
		if len(statuses) > 0 && !statuses[v.Membership] {
			continue
		}
		if len(f.Status) > 0 && !contains(f.Status, v.Status) {
			continue
		}
		if needle != "" && !matchesText(v, needle, f.NameOnly) {
			continue
		}
		if len(f.Tags) > 0 && !hasTag(v.Tags, f.Tags) {
			continue
		}
		if f.IsEqualized != nil && v.Equalized != *f.IsEqualized {
			continue
		}
		if f.Snowflake != nil && *f.Snowflake {
			continue // no project has a Snowflake workspace
		}
		if f.DataSourceID != nil && !hasSource(v, *f.DataSourceID) {
			continue
		}
		hits = append(hits, v)
	}
	out := &SearchResult{Count: len(hits)}
	switch f.Mode {
	case ModeCount:
		return out, nil
	case ModeTag:
		out.Facets.Tags = map[string]int{}
		for _, v := range hits {
			for _, t := range v.Tags {
				out.Facets.Tags[t]++
			}
		}
		return out, nil
	case ModeStatus:
		out.Facets.Status = map[string]int{"open": 0, "closed": 0}
		for _, v := range hits {
			out.Facets.Status[v.Status]++
		}
		return out, nil
	case ModeMinMax:
		if len(hits) == 0 {
			return out, nil
		}
		out.Facets.Min, out.Facets.Max = map[string]time.Time{}, map[string]time.Time{}
		for i, v := range hits {
			for k, t := range map[string]time.Time{"createdAt": v.CreatedAt, "updatedAt": v.UpdatedAt} {
				if i == 0 || t.Before(out.Facets.Min[k]) {
					out.Facets.Min[k] = t
				}
				if i == 0 || t.After(out.Facets.Max[k]) {
					out.Facets.Max[k] = t
				}
			}
		}
		return out, nil
	}
	key := func(v *View) string {
		switch f.SortField {
		case "status":
			return v.Status + "\x00" + strings.ToLower(v.Name)
		case "updatedAt":
			return v.UpdatedAt.UTC().Format(time.RFC3339Nano)
		case "createdAt":
			return v.CreatedAt.UTC().Format(time.RFC3339Nano)
		}
		return strings.ToLower(v.Name)
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := key(hits[i]), key(hits[j])
		if a == b {
			return hits[i].ID < hits[j].ID
		}
		return (a < b) != f.Descending
	})
	lo := min(f.Offset, len(hits))
	hi := len(hits)
	if f.Size > 0 {
		hi = min(lo+f.Size, len(hits))
	}
	out.Hits = hits[lo:hi]
	return out, nil
}

func matchesText(v *View, needle string, nameOnly bool) bool {
	if strings.Contains(strings.ToLower(v.Name), needle) {
		return true
	}
	if nameOnly {
		return false
	}
	for _, s := range []*string{v.Description, v.Documentation} {
		if s != nil && strings.Contains(strings.ToLower(*s), needle) {
			return true
		}
	}
	return false
}

func hasTag(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if h == w || strings.HasPrefix(h, w+".") {
				return true
			}
		}
	}
	return false
}

func hasSource(v *View, id int64) bool {
	for _, d := range v.DataSources {
		if d.DataSourceID == id {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

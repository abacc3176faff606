package policy

import (
	"sort"

	"github.com/custosdata/custos/internal/policy/expr"
)

// References are the names a policy mentions that live in the store: the
// service checks they exist before saving (422 with CodeNotFound otherwise).
type References struct {
	Groups     []string    `json:"groups,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"` // Value is empty when only the name is referenced
	Purposes   []string    `json:"purposes,omitempty"`   // <ANY PURPOSE> is not listed
	Tags       []string    `json:"tags,omitempty"`
	Users      []UserRef   `json:"users,omitempty"`
}

type refSet struct {
	groups, purposes, tags map[string]bool
	attrs                  map[Attribute]bool
	users                  map[UserRef]bool
}

func (s *refSet) cond(c *Condition) {
	if c == nil {
		return
	}
	for _, g := range c.Groups {
		s.groups[g] = true
	}
	for _, a := range c.Attributes {
		s.attrs[a] = true
	}
	for _, p := range c.Purposes {
		s.purpose(p)
	}
}

func (s *refSet) purpose(p string) {
	if p != AnyPurposeName {
		s.purposes[p] = true
	}
}

func (s *refSet) predicate(text string) {
	e, err := expr.Parse(text)
	if err != nil {
		return
	}
	s.expr(e)
}

func (s *refSet) expr(e expr.Expr) {
	expr.Walk(e, func(n expr.Expr) bool {
		switch n := n.(type) {
		case expr.ColumnTagged:
			s.tags[n.Tag] = true
		case expr.Call:
			arg := func(i int) string { return n.Args[i].(expr.String).Value }
			switch n.Func {
			case expr.FnIsInGroups:
				for i := range n.Args {
					s.groups[arg(i)] = true
				}
			case expr.FnHasAttribute:
				s.attrs[Attribute{arg(0), arg(1)}] = true
			case expr.FnAttributeValuesContains, expr.FnAttributes:
				s.attrs[Attribute{Name: arg(0)}] = true
			case expr.FnIsUsingPurpose:
				s.purpose(arg(0))
			}
		}
		return true
	})
}

// References lists what p names: groups, attributes, purposes, tags, users.
// Each list is sorted and free of duplicates.
func (p *Policy) References() References {
	s := &refSet{groups: map[string]bool{}, purposes: map[string]bool{}, tags: map[string]bool{},
		attrs: map[Attribute]bool{}, users: map[UserRef]bool{}}
	for _, c := range p.Circumstances {
		if c.Type == CircTags || c.Type == CircColumnTags {
			s.tags[c.Tag] = true
		}
	}
	if o := p.OwnerRestrictions; o != nil {
		for _, u := range o.Users {
			s.users[u] = true
		}
		for _, g := range o.Groups {
			s.groups[g] = true
		}
	}
	if sub := p.Subscription; sub != nil {
		s.cond(sub.Entitlements)
		if sub.Advanced != "" {
			if c, err := ParseAdvanced(sub.Advanced); err == nil {
				WalkCond(c, func(c Cond) {
					switch c := c.(type) {
					case InGroup:
						s.groups[c.Group] = true
					case HasAttribute:
						s.attrs[Attribute{c.Name, c.Value}] = true
					case ActingUnderPurpose:
						s.purposes[c.Purpose] = true
					}
				})
			}
		}
	}
	s.actions(p.Data)
	return s.result()
}

func (s *refSet) actions(acts []DataAction) {
	for _, a := range acts {
		for _, r := range a.Rules {
			s.cond(r.Exceptions)
			s.cond(r.Inclusions)
			switch {
			case r.Masking != nil:
				for _, f := range r.Masking.Fields {
					if f.Type == FieldColumnTags {
						s.tags[f.ColumnTag] = true
					}
				}
				s.predicate(r.Masking.ConditionalPredicate)
			case r.Purpose != nil:
				for _, p := range r.Purpose.Purposes {
					s.purpose(p)
				}
			case r.RowMatch != nil:
				for _, m := range r.RowMatch.Matches {
					if m.Tag != "" {
						s.tags[m.Tag] = true
					}
					if m.Type == MatchAttribute {
						s.attrs[Attribute{Name: m.Attribute}] = true
					}
				}
			case r.CustomWhere != nil:
				s.predicate(r.CustomWhere.Predicate)
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *refSet) result() References {
	r := References{Groups: sortedKeys(s.groups), Purposes: sortedKeys(s.purposes), Tags: sortedKeys(s.tags)}
	for a := range s.attrs {
		r.Attributes = append(r.Attributes, a)
	}
	sort.Slice(r.Attributes, func(i, j int) bool {
		a, b := r.Attributes[i], r.Attributes[j]
		return a.Name < b.Name || a.Name == b.Name && a.Value < b.Value
	})
	for u := range s.users {
		r.Users = append(r.Users, u)
	}
	sort.Slice(r.Users, func(i, j int) bool {
		a, b := r.Users[i], r.Users[j]
		return a.Username < b.Username || a.Username == b.Username && a.IAMID < b.IAMID
	})
	return r
}

package policy

import (
	"sort"
	"strconv"
	"strings"

	"github.com/custosdata/custos/internal/policy/expr"
)

// Cond is a condition over the querying user, left symbolic in a plan: who a
// mask or row rule applies to, who may subscribe. The concrete types are
// True, False, InGroup, HasAttribute, ActingUnderPurpose, AnyPurpose, And, Or
// and Not; a renderer switches on them (InGroup{"HR"} becomes a call such as
// in_group('HR')). Conds render as text through String and encode to JSON as
// that text.
type Cond interface {
	cond()
	String() string
}

type (
	// True holds for every user.
	True struct{}
	// False holds for no user.
	False struct{}
	// InGroup holds for members of Group.
	InGroup struct{ Group string }
	// HasAttribute holds for users with Value among their values of attribute Name.
	HasAttribute struct{ Name, Value string }
	// ActingUnderPurpose holds for users acting under Purpose or under one of
	// its sub-purposes (a purpose "A.B" satisfies "A", not the reverse).
	ActingUnderPurpose struct{ Purpose string }
	// AnyPurpose holds for users acting under some purpose (<ANY PURPOSE>).
	AnyPurpose struct{}
	// And holds when every operand holds.
	And []Cond
	// Or holds when at least one operand holds.
	Or []Cond
	// Not negates its operand.
	Not struct{ X Cond }
)

func (True) cond()               {}
func (False) cond()              {}
func (InGroup) cond()            {}
func (HasAttribute) cond()       {}
func (ActingUnderPurpose) cond() {}
func (AnyPurpose) cond()         {}
func (And) cond()                {}
func (Or) cond()                 {}
func (Not) cond()                {}

func q(s string) string { return strconv.Quote(s) }

func (True) String() string                 { return "true" }
func (False) String() string                { return "false" }
func (c InGroup) String() string            { return "inGroup(" + q(c.Group) + ")" }
func (c HasAttribute) String() string       { return "hasAttribute(" + q(c.Name) + ", " + q(c.Value) + ")" }
func (c ActingUnderPurpose) String() string { return "actingUnderPurpose(" + q(c.Purpose) + ")" }
func (AnyPurpose) String() string           { return "actingUnderAnyPurpose()" }
func (c And) String() string                { return joinCond([]Cond(c), " and ") }
func (c Or) String() string                 { return joinCond([]Cond(c), " or ") }
func (c Not) String() string                { return "not " + wrapCond(c.X) }

func joinCond(cs []Cond, sep string) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = wrapCond(c)
	}
	return strings.Join(parts, sep)
}

func wrapCond(c Cond) string {
	switch c.(type) {
	case And, Or:
		return "(" + c.String() + ")"
	}
	return c.String()
}

// MarshalText lets a Cond appear in JSON as its text.
func (c True) MarshalText() ([]byte, error)               { return []byte(c.String()), nil }
func (c False) MarshalText() ([]byte, error)              { return []byte(c.String()), nil }
func (c InGroup) MarshalText() ([]byte, error)            { return []byte(c.String()), nil }
func (c HasAttribute) MarshalText() ([]byte, error)       { return []byte(c.String()), nil }
func (c ActingUnderPurpose) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
func (c AnyPurpose) MarshalText() ([]byte, error)         { return []byte(c.String()), nil }
func (c And) MarshalText() ([]byte, error)                { return []byte(c.String()), nil }
func (c Or) MarshalText() ([]byte, error)                 { return []byte(c.String()), nil }
func (c Not) MarshalText() ([]byte, error)                { return []byte(c.String()), nil }

// AllOf is the conjunction of cs, flattened and with constants folded.
func AllOf(cs ...Cond) Cond {
	var out And
	for _, c := range cs {
		switch c := c.(type) {
		case nil, True:
		case False:
			return False{}
		case And:
			out = append(out, c...)
		default:
			out = append(out, c)
		}
	}
	switch len(out) {
	case 0:
		return True{}
	case 1:
		return out[0]
	}
	return out
}

// AnyOf is the disjunction of cs, flattened and with constants folded.
func AnyOf(cs ...Cond) Cond {
	var out Or
	for _, c := range cs {
		switch c := c.(type) {
		case nil, False:
		case True:
			return True{}
		case Or:
			out = append(out, c...)
		default:
			out = append(out, c)
		}
	}
	switch len(out) {
	case 0:
		return False{}
	case 1:
		return out[0]
	}
	return out
}

// NotOf negates c, folding constants and double negation.
func NotOf(c Cond) Cond {
	switch c := c.(type) {
	case nil, True:
		return False{}
	case False:
		return True{}
	case Not:
		return c.X
	}
	return Not{c}
}

// EqualCond reports whether two conditions are the same tree.
func EqualCond(a, b Cond) bool {
	switch x := a.(type) {
	case And:
		y, ok := b.(And)
		return ok && equalConds(x, y)
	case Or:
		y, ok := b.(Or)
		return ok && equalConds(x, y)
	case Not:
		y, ok := b.(Not)
		return ok && EqualCond(x.X, y.X)
	}
	return a == b
}

func equalConds(a, b []Cond) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !EqualCond(a[i], b[i]) {
			return false
		}
	}
	return true
}

// WalkCond calls fn for c and every condition below it.
func WalkCond(c Cond, fn func(Cond)) {
	fn(c)
	switch c := c.(type) {
	case And:
		for _, x := range c {
			WalkCond(x, fn)
		}
	case Or:
		for _, x := range c {
			WalkCond(x, fn)
		}
	case Not:
		WalkCond(c.X, fn)
	}
}

// Qualifies reports whether c holds for the user as a condition that grants
// something (who may subscribe, who may read or write). Under an equalized
// project it must hold for both the user's own entitlements and the limited
// ones: equalization only ever takes access away.
func (e *Entitlements) Qualifies(c Cond) bool {
	for _, s := range e.sets {
		if !s.holds(c) {
			return false
		}
	}
	return true
}

// Applies reports whether a restriction whose condition is c (a mask rule,
// a row rule) applies to the user. Under an equalized project it applies
// when c holds for the user's own entitlements or for the limited ones:
// dropping an entitlement never lifts a restriction, whether the condition
// names the users it restricts (an inclusion) or those it spares (an
// exception).
func (e *Entitlements) Applies(c Cond) bool {
	for _, s := range e.sets {
		if s.holds(c) {
			return true
		}
	}
	return false
}

// holds evaluates c over one set of entitlements.
func (e *Entitlements) holds(c Cond) bool {
	switch c := c.(type) {
	case nil, True:
		return true
	case False:
		return false
	case InGroup:
		return e.InGroup(c.Group)
	case HasAttribute:
		return e.HasAttribute(c.Name, c.Value)
	case ActingUnderPurpose:
		return e.ActingUnder(c.Purpose)
	case AnyPurpose:
		return len(e.purposes) > 0
	case And:
		for _, x := range c {
			if !e.holds(x) {
				return false
			}
		}
		return true
	case Or:
		for _, x := range c {
			if e.holds(x) {
				return true
			}
		}
		return false
	case Not:
		return !e.holds(c.X)
	}
	return false
}

// User is who queries: their name, groups, attributes and the purposes they
// act under (those of their current project).
type User struct {
	Username   string              `json:"username"`
	IAMID      string              `json:"iamid,omitempty"`
	Groups     []string            `json:"groups,omitempty"`
	Attributes map[string][]string `json:"attributes,omitempty"`
	Purposes   []string            `json:"purposes,omitempty"`
	// Own, when not nil, says that the user acts under an equalized
	// project: Groups and Attributes are then what the project's set lets
	// them keep, and Own holds their own groups and attribute values.
	// Restrictions apply under either (see Entitlements.Applies).
	Own *Own `json:"own,omitempty"`
}

// Own is a user's own groups and attribute values, before an equalized
// project limits them.
type Own struct {
	Groups     []string            `json:"groups,omitempty"`
	Attributes map[string][]string `json:"attributes,omitempty"`
}

// Entitlements is a User prepared for fast evaluation; build it once per user
// with NewEntitlements and evaluate many plans with it.
type Entitlements struct {
	user     User
	groupLit []expr.Expr
	purpLit  []expr.Expr
	attrLit  map[string][]expr.Expr
	groups   map[string]struct{}
	attrs    map[string]map[string]struct{}
	purposes []string // sorted
	acting   map[string]struct{}
	// sets are the entitlements conditions are evaluated over: this one
	// alone, or, under an equalized project, this one (limited) and the
	// user's own.
	sets []*Entitlements
}

// NewEntitlements prepares u for evaluation; with u.Own it prepares both the
// limited and the own entitlements.
func NewEntitlements(u User) *Entitlements {
	e := &Entitlements{user: u, groups: make(map[string]struct{}, len(u.Groups)),
		attrs: make(map[string]map[string]struct{}, len(u.Attributes)), acting: map[string]struct{}{}}
	for _, g := range u.Groups {
		e.groups[g] = struct{}{}
	}
	for n, vs := range u.Attributes {
		set := make(map[string]struct{}, len(vs))
		for _, v := range vs {
			set[v] = struct{}{}
		}
		e.attrs[n] = set
	}
	e.purposes = append([]string(nil), u.Purposes...)
	sort.Strings(e.purposes)
	e.groupLit, e.purpLit = literals(u.Groups), literals(e.purposes)
	e.attrLit = make(map[string][]expr.Expr, len(u.Attributes))
	for n, vs := range u.Attributes {
		e.attrLit[n] = literals(vs)
	}
	for _, p := range u.Purposes {
		// A user acting under A.B.C acts under A.B and A as well.
		for {
			e.acting[p] = struct{}{}
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
		}
	}
	e.sets = []*Entitlements{e}
	if u.Own != nil {
		own := NewEntitlements(User{Username: u.Username, IAMID: u.IAMID, Groups: u.Own.Groups,
			Attributes: u.Own.Attributes, Purposes: u.Purposes})
		e.sets = append(e.sets, own)
	}
	return e
}

// Limited reports whether the user's groups and attributes are limited by
// an equalized project.
func (e *Entitlements) Limited() bool { return len(e.sets) > 1 }

// Own returns the entitlements of the user's own groups and attributes (the
// same as e when no equalized project limits them).
func (e *Entitlements) Own() *Entitlements { return e.sets[len(e.sets)-1] }

func literals(vs []string) []expr.Expr {
	out := make([]expr.Expr, len(vs))
	for i, v := range vs {
		out[i] = expr.String{Value: v}
	}
	return out
}

// GroupLiterals, PurposeLiterals and AttributeLiterals give the user's values
// as predicate literals (expr.Literals), prepared once.
func (e *Entitlements) GroupLiterals() []expr.Expr                { return e.groupLit }
func (e *Entitlements) PurposeLiterals() []expr.Expr              { return e.purpLit }
func (e *Entitlements) AttributeLiterals(name string) []expr.Expr { return e.attrLit[name] }

// User returns the user the entitlements were built from.
func (e *Entitlements) User() User                        { return e.user }
func (e *Entitlements) Username() string                  { return e.user.Username }
func (e *Entitlements) IAM() string                       { return e.user.IAMID }
func (e *Entitlements) GroupList() []string               { return e.user.Groups }
func (e *Entitlements) PurposeList() []string             { return e.purposes }
func (e *Entitlements) AttributeValues(n string) []string { return e.user.Attributes[n] }

// InGroup reports membership of group.
func (e *Entitlements) InGroup(group string) bool {
	_, ok := e.groups[group]
	return ok
}

// HasAttribute reports whether the user has value among their values of name.
func (e *Entitlements) HasAttribute(name, value string) bool {
	_, ok := e.attrs[name][value]
	return ok
}

// ActingUnder reports whether the user acts under purpose or a sub-purpose of it.
func (e *Entitlements) ActingUnder(purpose string) bool {
	if purpose == AnyPurposeName {
		return len(e.purposes) > 0
	}
	_, ok := e.acting[purpose]
	return ok
}

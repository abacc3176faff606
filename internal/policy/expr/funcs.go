package expr

import "strings"

// Func identifies a function a predicate may call. The @-functions read the
// querying user's entitlements (or name a column); the few plain SQL functions
// are ones every supported dialect has.
type Func int

const (
	FnUsername                Func = iota // @username: the user's name
	FnIAM                                 // @iam: the identity provider the user comes from
	FnGroups                              // @groups([placeholder]): the user's groups, a list
	FnAttributes                          // @attributes(name[, placeholder]): the user's values of an attribute, a list
	FnPurposes                            // @purposes([placeholder]): the purposes the user acts under, a list
	FnGroupsContains                      // @groupsContains(x[, placeholder]): x is one of the user's groups
	FnAttributeValuesContains             // @attributeValuesContains(name, x[, placeholder]): x is one of the user's values of name
	FnPurposesContains                    // @purposesContains(x[, placeholder]): x is a purpose the user acts under
	FnHasAttribute                        // @hasAttribute(name, value)
	FnIsInGroups                          // @isInGroups(g1, g2, ...): member of every listed group
	FnIsUsingPurpose                      // @isUsingPurpose(p) (also @hasPurpose): acting under p or a sub-purpose of p
	FnColumnTagged                        // @columnTagged(tag): parsed into ColumnTagged, never a Call
	FnColumnReference                     // @columnReference(name): parsed into Column, never a Call
	FnLower                               // lower(x)
	FnUpper                               // upper(x)
	FnTrim                                // trim(x)
	FnLength                              // length(x)
	FnCoalesce                            // coalesce(x, y, ...)
	FnAbs                                 // abs(x)
)

// Kind is what a function returns.
type Kind int

const (
	KindValue    Kind = iota // a scalar value
	KindBool                 // a boolean
	KindList                 // a list, only valid inside IN (...)
	KindUserBool             // a boolean that depends on the user only, not on the row
)

// argument kinds
const (
	argExpr = iota // any expression
	argName        // a string literal naming a group, attribute, purpose, tag or column
	argText        // a string literal (placeholder)
)

type funcInfo struct {
	name       string
	kind       Kind
	user       bool // reads the querying user's entitlements
	bare       bool // may be written without parentheses
	minArgs    int
	maxArgs    int // -1: any number
	args       []int
	repeatLast bool // the last arg kind repeats
}

var funcs = [...]funcInfo{
	FnUsername:                {name: "@username", kind: KindValue, user: true, bare: true},
	FnIAM:                     {name: "@iam", kind: KindValue, user: true, bare: true},
	FnGroups:                  {name: "@groups", kind: KindList, user: true, maxArgs: 1, args: []int{argText}},
	FnAttributes:              {name: "@attributes", kind: KindList, user: true, minArgs: 1, maxArgs: 2, args: []int{argName, argText}},
	FnPurposes:                {name: "@purposes", kind: KindList, user: true, maxArgs: 1, args: []int{argText}},
	FnGroupsContains:          {name: "@groupsContains", kind: KindBool, user: true, minArgs: 1, maxArgs: 2, args: []int{argExpr, argText}},
	FnAttributeValuesContains: {name: "@attributeValuesContains", kind: KindBool, user: true, minArgs: 2, maxArgs: 3, args: []int{argName, argExpr, argText}},
	FnPurposesContains:        {name: "@purposesContains", kind: KindBool, user: true, minArgs: 1, maxArgs: 2, args: []int{argExpr, argText}},
	FnHasAttribute:            {name: "@hasAttribute", kind: KindUserBool, user: true, minArgs: 2, maxArgs: 2, args: []int{argName, argName}},
	FnIsInGroups:              {name: "@isInGroups", kind: KindUserBool, user: true, minArgs: 1, maxArgs: -1, args: []int{argName}, repeatLast: true},
	FnIsUsingPurpose:          {name: "@isUsingPurpose", kind: KindUserBool, user: true, minArgs: 1, maxArgs: 1, args: []int{argName}},
	FnColumnTagged:            {name: "@columnTagged", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argName}},
	FnColumnReference:         {name: "@columnReference", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argName}},
	FnLower:                   {name: "lower", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argExpr}},
	FnUpper:                   {name: "upper", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argExpr}},
	FnTrim:                    {name: "trim", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argExpr}},
	FnLength:                  {name: "length", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argExpr}},
	FnCoalesce:                {name: "coalesce", kind: KindValue, minArgs: 1, maxArgs: -1, args: []int{argExpr}, repeatLast: true},
	FnAbs:                     {name: "abs", kind: KindValue, minArgs: 1, maxArgs: 1, args: []int{argExpr}},
}

// aliases accepted on input; the canonical name is printed.
var funcAliases = map[string]Func{"@haspurpose": FnIsUsingPurpose}

var funcByName = func() map[string]Func {
	m := make(map[string]Func, len(funcs)+len(funcAliases))
	for i, f := range funcs {
		m[strings.ToLower(f.name)] = Func(i)
	}
	for k, v := range funcAliases {
		m[k] = v
	}
	return m
}()

func (f Func) info() funcInfo { return funcs[f] }

// Name is the function's canonical spelling, e.g. "@groupsContains".
func (f Func) Name() string { return funcs[f].name }

// Kind is what the function returns.
func (f Func) Kind() Kind { return funcs[f].kind }

// User reports whether the function reads the querying user's entitlements.
func (f Func) User() bool { return funcs[f].user }

func (f Func) String() string { return f.Name() }

// LookupFunc finds a function by name (case-insensitive, with its @ if any).
func LookupFunc(name string) (Func, bool) {
	f, ok := funcByName[strings.ToLower(name)]
	return f, ok
}

func (fi funcInfo) argKind(i int) int {
	if i < len(fi.args) {
		return fi.args[i]
	}
	if fi.repeatLast && len(fi.args) > 0 {
		return fi.args[len(fi.args)-1]
	}
	return argExpr
}

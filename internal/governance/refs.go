package governance

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/policy/expr"
	"github.com/custosdata/custos/internal/requests"
	"github.com/custosdata/custos/internal/store"
)

// A reference is a name a policy mentions that must exist in the store,
// with the payload field it appears in, so that a missing one is reported
// as a 422 naming that field.
type reference struct {
	field string
	kind  refKind
	name  string
	iamid string // users
}

type refKind int

const (
	refGroup refKind = iota
	refPurpose
	refTag
	refUser
	refColumn     // local policies: a column of the data source
	refPermission // OWNER or a permission an approval requires
	refPredColumn // a column a predicate names: one of the targeted data sources must have it
	refRegex      // a masking pattern: PostgreSQL must read it as RE2 does
)

func (k refKind) String() string {
	return [...]string{"group", "purpose", "tag", "user", "column", "permission", "column", "pattern"}[k]
}

// dialect says which payload shape field paths follow.
type dialect int

const (
	dialectV2 dialect = iota // V2 policy payloads
	dialectV1                // V1 global policy objects and jsonPolicies
)

type refCollector struct {
	d    dialect
	refs []reference
}

func (c *refCollector) add(field string, kind refKind, name string) {
	c.refs = append(c.refs, reference{field: field, kind: kind, name: name})
}

// condition collects the groups and purposes of an exceptions, inclusions
// or entitlements block.
func (c *refCollector) condition(path string, cond *policy.Condition) {
	if cond == nil {
		return
	}
	for i, g := range cond.Groups {
		c.add(c.pick(fmt.Sprintf("%s.groups[%d]", path, i), path), refGroup, g)
	}
	for i, p := range cond.Purposes {
		if p != policy.AnyPurposeName {
			c.add(c.pick(fmt.Sprintf("%s.purposes[%d]", path, i), path), refPurpose, p)
		}
	}
}

// pick chooses the V2 path or the coarser V1 one (V1 blocks list their
// conditions in one array whose order the model does not keep).
func (c *refCollector) pick(v2, v1 string) string {
	if c.d == dialectV1 {
		return v1
	}
	return v2
}

// predicate collects the tags, groups and purposes a predicate names.
func (c *refCollector) predicate(path, text string) {
	e, err := expr.Parse(text)
	if err != nil {
		return // the engine's validation reports it
	}
	expr.Walk(e, func(n expr.Expr) bool {
		switch n := n.(type) {
		case expr.Column:
			c.add(path, refPredColumn, n.Name)
		case expr.ColumnTagged:
			c.add(path, refTag, n.Tag)
		case expr.Call:
			name := func(i int) string {
				if i < len(n.Args) {
					if s, ok := n.Args[i].(expr.String); ok {
						return s.Value
					}
				}
				return ""
			}
			switch n.Func {
			case expr.FnIsInGroups:
				for i := range n.Args {
					c.add(path, refGroup, name(i))
				}
			case expr.FnIsUsingPurpose:
				if p := name(0); p != policy.AnyPurposeName {
					c.add(path, refPurpose, p)
				}
			}
		}
		return true
	})
}

// advanced collects what an advanced subscription expression names.
func (c *refCollector) advanced(path, text string) {
	cond, err := policy.ParseAdvanced(text)
	if err != nil {
		return
	}
	policy.WalkCond(cond, func(x policy.Cond) {
		switch x := x.(type) {
		case policy.InGroup:
			c.add(path, refGroup, x.Group)
		case policy.ActingUnderPurpose:
			c.add(path, refPurpose, x.Purpose)
		}
	})
}

func (c *refCollector) subscription(path string, sub *policy.SubscriptionAction) {
	if sub == nil {
		return
	}
	c.condition(c.pick(path+".entitlements", path+".exceptions"), sub.Entitlements)
	if sub.Advanced != "" {
		c.advanced(path+".advanced", sub.Advanced)
	}
	for i, a := range sub.Approvals {
		c.add(fmt.Sprintf("%s.approvals[%d].requiredPermission", path, i), refPermission, a.RequiredPermission)
	}
}

// actions collects the references of data actions; pathOf names action i.
func (c *refCollector) actions(pathOf func(int) string, acts []policy.DataAction, local bool) {
	for i, a := range acts {
		for j, r := range a.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", pathOf(i), j)
			cfg := rp + ".config"
			c.condition(rp+".exceptions", r.Exceptions)
			c.condition(rp+".inclusions", r.Inclusions)
			switch {
			case r.Masking != nil:
				for k, f := range r.Masking.Fields {
					fp := fmt.Sprintf("%s.fields[%d]", cfg, k)
					switch f.Type {
					case policy.FieldColumnTags:
						c.add(c.pick(fp+".columnTag", fp+".name"), refTag, f.ColumnTag)
					case policy.FieldColumn:
						if local {
							c.add(fp, refColumn, f.Column)
						}
					}
				}
				if r.Masking.ConditionalPredicate != "" {
					c.predicate(cfg+".conditionalPredicate", r.Masking.ConditionalPredicate)
				}
				if r.Masking.Masking.Type == policy.MaskRegex {
					c.add(c.pick(cfg+".maskingConfig.regex", cfg+".maskingConfig.metadata.regex"), refRegex, r.Masking.Masking.Regex)
				}
			case r.Purpose != nil:
				for k, p := range r.Purpose.Purposes {
					if p != policy.AnyPurposeName {
						c.add(c.pick(fmt.Sprintf("%s.purposes[%d]", cfg, k), cfg+".qualifications"), refPurpose, p)
					}
				}
			case r.RowMatch != nil:
				for k, m := range r.RowMatch.Matches {
					mp := cfg + ".matches"
					if len(r.RowMatch.Matches) > 1 {
						mp = fmt.Sprintf("%s[%d]", mp, k)
					}
					mp = c.pick(mp, cfg+".qualifications")
					if m.Tag != "" {
						c.add(c.pick(mp+".tag", mp), refTag, m.Tag)
					}
					if local && m.Column != "" {
						c.add(mp, refColumn, m.Column)
					}
				}
			case r.CustomWhere != nil:
				c.predicate(cfg+".predicate", r.CustomWhere.Predicate)
			case r.Minimization != nil && local && r.Minimization.Column != "":
				c.add(cfg+".hashPhrase", refColumn, r.Minimization.Column)
			}
		}
	}
}

// policyRefs lists what a global policy names, with payload paths.
func policyRefs(p *policy.Policy, d dialect) []reference {
	c := &refCollector{d: d}
	for i, ci := range p.Circumstances {
		cp := fmt.Sprintf("circumstances[%d]", i)
		switch ci.Type {
		case policy.CircTags:
			c.add(c.pick(cp+".tag", cp+".tag.name"), refTag, ci.Tag)
		case policy.CircColumnTags:
			c.add(c.pick(cp+".columnTag", cp+".columnTag.name"), refTag, ci.Tag)
		}
	}
	if o := p.OwnerRestrictions; o != nil {
		for i, u := range o.Users {
			c.refs = append(c.refs, reference{field: fmt.Sprintf("ownerRestrictions.users[%d]", i), kind: refUser,
				name: u.Username, iamid: u.IAMID})
		}
		for i, g := range o.Groups {
			c.add(fmt.Sprintf("ownerRestrictions.groups[%d]", i), refGroup, g)
		}
	}
	c.subscription(c.pick("actions", "actions[0]"), p.Subscription)
	c.actions(func(i int) string { return fmt.Sprintf("actions[%d]", i) }, p.Data, false)
	return c.refs
}

// localRefs lists what a local policy names; pathOf maps the model's action
// index to its place in the payload.
func localRefs(lp *policy.LocalPolicy, pathOf func(int) string, subPath string) []reference {
	c := &refCollector{d: dialectV1}
	c.subscription(subPath, lp.Subscription)
	c.actions(pathOf, lp.Data, true)
	return c.refs
}

// checkRefs verifies that every reference exists; columns are checked
// against the given column names: those of the data source of a local
// policy, those of the data sources a global policy targets now, or nil
// when custos cannot know them (a global policy that targets none yet). It
// returns one 422 naming every field whose reference is missing.
func checkRefs(ctx context.Context, q *store.Queries, refs []reference, columns map[string]bool) error {
	byKind := map[refKind]map[string]bool{}
	for _, r := range refs {
		if r.kind == refUser || r.kind == refColumn || r.kind == refPermission || r.kind == refPredColumn || r.kind == refRegex {
			continue
		}
		if byKind[r.kind] == nil {
			byKind[r.kind] = map[string]bool{}
		}
		byKind[r.kind][r.name] = true
	}
	found := map[refKind]map[string]bool{}
	queries := map[refKind]string{
		refGroup:   `SELECT DISTINCT name FROM groups WHERE name IN `,
		refTag:     `SELECT name FROM tags WHERE deleted = FALSE AND name IN `,
		refPurpose: `SELECT name FROM purposes WHERE deleted = FALSE AND name IN `,
	}
	for kind, names := range byKind {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		sort.Strings(list)
		var a store.Args
		got, err := store.Strings(q.Query(ctx, queries[kind]+store.List(&a, list), a...))
		if err != nil {
			return err
		}
		found[kind] = map[string]bool{}
		for _, n := range got {
			found[kind][n] = true
		}
	}
	var l errs.List
	for _, r := range refs {
		switch r.kind {
		case refUser:
			var n int
			err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE LOWER(userid) = LOWER($1) AND ($2 = '' OR iamid = $2)`,
				r.name, r.iamid).Scan(&n)
			if err != nil {
				return err
			}
			if n == 0 {
				who := r.name
				if r.iamid != "" {
					who = r.iamid + "/" + r.name
				}
				l.Add(r.field, errs.CodeNotFound, "%s: user %q does not exist", r.field, who)
			}
		case refColumn:
			if !columns[r.name] {
				l.Add(r.field, errs.CodeNotFound, "%s: the data source has no column %q", r.field, r.name)
			}
		case refPredColumn:
			// As the engine resolves them: by exact name, else by one
			// case-insensitive match.
			if columns != nil && !hasColumn(columns, r.name) {
				l.Add(r.field, errs.CodeNotFound, "%s: no data source the policy applies to has a column %q (the rule would hide every row, or mask the column to NULL, everywhere)", r.field, r.name)
			}
		case refRegex:
			if err := policy.CheckPostgresRegex(r.name); err != nil {
				l.Add(r.field, errs.CodeInvalid, "%s: PostgreSQL, which enforces the mask, cannot use this pattern: %v", r.field, err)
			}
		case refPermission:
			// Checked when a policy is saved, not in the engine's validation,
			// so that policies stored before still load.
			if r.name != requests.Owner && !auth.ValidPermission(r.name) {
				l.Add(r.field, errs.CodeEnum, "%s must be OWNER or a permission (%s), not %q", r.field,
					strings.Join(auth.AllPermissions, ", "), r.name)
			}
		default:
			if !found[r.kind][r.name] {
				hint := ""
				switch r.kind {
				case refTag:
					hint = "; create it with POST /tag"
				case refPurpose:
					hint = "; create it with POST /api/v2/purpose"
				case refGroup:
					hint = "; create it with POST /bim/group"
				}
				l.Add(r.field, errs.CodeNotFound, "%s: %s %q does not exist%s", r.field, r.kind, r.name, hint)
			}
		}
	}
	return dedupe(l).Err()
}

// hasColumn reports whether a predicate's column name resolves among names.
func hasColumn(names map[string]bool, name string) bool {
	if names[name] {
		return true
	}
	found := 0
	for n := range names {
		if strings.EqualFold(n, name) {
			found++
		}
	}
	return found == 1
}

// dedupe drops repeated (field, message) problems.
func dedupe(l errs.List) errs.List {
	seen := map[string]bool{}
	out := l[:0]
	for _, f := range l {
		k := f.Field + "\x00" + f.Message
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

package policy

import "sort"

// patchPlan computes the plan of s after one global policy changed (old
// replaced by now; either may be nil), reusing from the current plan what the
// other policies contribute: their row rules, skips, and every column the
// changed policy neither masked nor masks. Only columns the policy touches
// are recomputed against all contributors, and unchanged parts of the plan
// are shared with the previous one (plans are never modified once built).
// The result equals buildPlan(s).
func (ix *Index) patchPlan(s *source, old, now *compiled) *Plan {
	prev := s.plan
	p, contributors := ix.startPlan(s)
	if equalRefs(p.Policies, prev.Policies) {
		p.Policies = prev.Policies
	}
	var pid int64
	if old != nil {
		pid = old.ref.ID
	} else {
		pid = now.ref.ID
	}
	isP := func(r *RuleRef) bool { return r != nil && !r.Policy.Local && r.Policy.ID == pid }
	beforeP := func(r *RuleRef) bool { return r.Policy.Local || r.Policy.ID < pid }

	// What the changed policy contributes now, planned alone.
	scratch := &planner{ix: ix, s: s, p: &Plan{}}
	if now != nil && hasPolicy(s.matched, now) {
		for ci, c := range contributors {
			if c.ref == now.ref {
				for _, r := range now.rules {
					scratch.rule(ci, r)
				}
			}
		}
	}

	// Rows and skips: the others' in place, the policy's where it ranks.
	p.Rows = spliceRows(prev.Rows, scratch.p.Rows, isP, beforeP)
	p.Skipped = spliceSkips(prev.Skipped, scratch.p.Skipped, isP, beforeP)

	// Columns the policy masked or masks are recomputed.
	var touched []bool
	touch := func(i int32) {
		if touched == nil {
			touched = make([]bool, len(s.cols))
		}
		touched[i] = true
	}
	for _, c := range prev.Columns {
		for _, m := range c.Masks {
			if isP(m.Source) {
				touch(c.col)
				break
			}
		}
	}
	nMaskConflicts := 0
	for _, c := range prev.Conflicts {
		if c.Kind == ConflictMasking {
			nMaskConflicts++
			if isP(c.Winner) || isP(c.Loser) {
				touch(c.col)
			}
		}
	}
	for _, e := range scratch.entries {
		touch(int32(e.col))
	}
	if touched == nil {
		// The policy masks nothing here, before or after: columns and
		// masking conflicts stay as they were.
		p.Columns = prev.Columns
		if len(p.Conflicts) == 0 && nMaskConflicts == len(prev.Conflicts) {
			p.Conflicts = prev.Conflicts
		} else {
			for _, c := range prev.Conflicts {
				if c.Kind == ConflictMasking {
					p.Conflicts = append(p.Conflicts, c)
				}
			}
		}
		return p
	}

	nSub := len(p.Conflicts)
	for _, c := range prev.Conflicts {
		if c.Kind == ConflictMasking && !touched[c.col] {
			p.Conflicts = append(p.Conflicts, c)
		}
	}
	b := &planner{ix: ix, s: s, p: p}
	for ci, c := range contributors {
		for _, r := range c.rules {
			if r.typ != RuleMasking {
				continue
			}
			var buf [4]compiledField
			rows, fields, ok := b.maskTargets(r, buf[:], false)
			if !ok {
				continue
			}
			for i, t := range touched {
				if t && b.selects(fields, i) {
					b.claim(ci, r, rows, i)
				}
			}
		}
	}
	sortMaskConflicts(p.Conflicts[nSub:])
	if len(p.Conflicts) == 0 {
		p.Conflicts = nil
	}

	// Merge untouched columns from the previous plan with the recomputed ones.
	b.columns()
	recomputed := p.Columns
	p.Columns = make([]ColumnPlan, 0, len(prev.Columns)+len(recomputed))
	pi, ri := 0, 0
	for pi < len(prev.Columns) || ri < len(recomputed) {
		switch {
		case pi < len(prev.Columns) && touched[prev.Columns[pi].col]:
			pi++
		case ri >= len(recomputed) || pi < len(prev.Columns) && prev.Columns[pi].col < recomputed[ri].col:
			p.Columns = append(p.Columns, prev.Columns[pi])
			pi++
		default:
			p.Columns = append(p.Columns, recomputed[ri])
			ri++
		}
	}
	if len(p.Columns) == 0 {
		p.Columns = nil
	}
	return p
}

func spliceRows(prev, mine []RowRule, isP, beforeP func(*RuleRef) bool) []RowRule {
	had := false
	for _, r := range prev {
		had = had || isP(r.Source)
	}
	if !had && len(mine) == 0 {
		return prev
	}
	out := make([]RowRule, 0, len(prev)+len(mine))
	inserted := false
	for _, r := range prev {
		if isP(r.Source) {
			continue
		}
		if !inserted && !beforeP(r.Source) {
			out, inserted = append(out, mine...), true
		}
		out = append(out, r)
	}
	if !inserted {
		out = append(out, mine...)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func spliceSkips(prev, mine []Skip, isP, beforeP func(*RuleRef) bool) []Skip {
	had := false
	for _, k := range prev {
		had = had || isP(k.Source)
	}
	if !had && len(mine) == 0 {
		return prev
	}
	out := make([]Skip, 0, len(prev)+len(mine))
	inserted := false
	for _, k := range prev {
		if isP(k.Source) {
			continue
		}
		if !inserted && !beforeP(k.Source) {
			out, inserted = append(out, mine...), true
		}
		out = append(out, k)
	}
	if !inserted {
		out = append(out, mine...)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sortMaskConflicts puts masking conflicts in the order a full build finds
// them: by the losing rule's precedence, then by column position.
func sortMaskConflicts(cs []Conflict) {
	less := func(x, y *Conflict) bool {
		a, b := x.Loser, y.Loser
		if a.Policy.Local != b.Policy.Local {
			return a.Policy.Local
		}
		if a.Policy.ID != b.Policy.ID {
			return a.Policy.ID < b.Policy.ID
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return x.col < y.col
	}
	sorted := true
	for i := 1; i < len(cs) && sorted; i++ {
		sorted = !less(&cs[i], &cs[i-1])
	}
	if !sorted {
		sort.SliceStable(cs, func(i, j int) bool { return less(&cs[i], &cs[j]) })
	}
}

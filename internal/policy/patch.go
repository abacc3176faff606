package policy

import "sort"

// patchPlan computes the plan of s after one global policy changed (old
// replaced by now; either may be nil), reusing from the current plan what the
// other policies contribute: their row rules, skips, and every column the
// changed policy neither masked nor masks. Only columns the policy touches
// are recomputed against all contributors. The result equals buildPlan(s).
func (ix *Index) patchPlan(s *source, old, now *compiled) *Plan {
	prev := s.plan
	p, contributors := ix.startPlan(s)
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
	pIndex := -1
	if now != nil && hasPolicy(s.matched, now) {
		for ci, c := range contributors {
			if c.ref == now.ref {
				pIndex = ci
			}
		}
		for _, r := range now.rules {
			scratch.rule(pIndex, r)
		}
	}

	// Rows and skips: the others' in place, the policy's where it ranks.
	p.Rows = spliceRows(prev.Rows, scratch.p.Rows, isP, beforeP)
	p.Skipped = spliceSkips(prev.Skipped, scratch.p.Skipped, isP, beforeP)

	// Columns the policy masked or masks are recomputed.
	touched := make([]bool, len(s.cols))
	byName := func(name string) int {
		if id, ok := ix.names.ids[name]; ok {
			for i, c := range s.cols {
				if c.name == id {
					return i
				}
			}
		}
		return -1
	}
	for _, c := range prev.Columns {
		for _, m := range c.Masks {
			if isP(m.Source) {
				if i := byName(c.Column); i >= 0 {
					touched[i] = true
				}
				break
			}
		}
	}
	var keptConflicts []Conflict
	for _, c := range prev.Conflicts {
		if c.Kind != ConflictMasking {
			continue
		}
		if isP(c.Winner) || isP(c.Loser) {
			if i := byName(c.Column); i >= 0 {
				touched[i] = true
			}
		}
	}
	for _, e := range scratch.entries {
		touched[e.col] = true
	}
	for _, c := range prev.Conflicts {
		if c.Kind == ConflictMasking {
			if i := byName(c.Column); i >= 0 && !touched[i] {
				keptConflicts = append(keptConflicts, c)
			}
		}
	}

	b := &planner{ix: ix, s: s, p: p}
	nSub := len(p.Conflicts)
	for i, t := range touched {
		if !t {
			continue
		}
		for ci, c := range contributors {
			for _, r := range c.rules {
				if r.typ != RuleMasking {
					continue
				}
				var buf [4]compiledField
				rows, fields, ok := b.maskTargets(r, buf[:], false)
				if ok && b.selects(fields, i) {
					b.claim(ci, r, rows, i)
				}
			}
		}
	}
	p.Conflicts = append(p.Conflicts, keptConflicts...)
	sortMaskConflicts(s, ix, p.Conflicts[nSub:])

	// Merge untouched columns from the previous plan with the recomputed ones.
	b.columns()
	recomputed := p.Columns
	p.Columns = make([]ColumnPlan, 0, len(prev.Columns)+len(recomputed))
	pi, ri := 0, 0
	for i := range s.cols {
		name := ix.names.strs[s.cols[i].name]
		if touched[i] {
			if ri < len(recomputed) && recomputed[ri].Column == name {
				p.Columns = append(p.Columns, recomputed[ri])
				ri++
			}
			if pi < len(prev.Columns) && prev.Columns[pi].Column == name {
				pi++
			}
			continue
		}
		if pi < len(prev.Columns) && prev.Columns[pi].Column == name {
			p.Columns = append(p.Columns, prev.Columns[pi])
			pi++
		}
	}
	if len(p.Columns) == 0 {
		p.Columns = nil
	}
	return p
}

func spliceRows(prev, mine []RowRule, isP, beforeP func(*RuleRef) bool) []RowRule {
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
func sortMaskConflicts(s *source, ix *Index, cs []Conflict) {
	if len(cs) < 2 {
		return
	}
	pos := func(name string) int {
		if id, ok := ix.names.ids[name]; ok {
			for i, c := range s.cols {
				if c.name == id {
					return i
				}
			}
		}
		return -1
	}
	rank := func(r *RuleRef) [4]int64 {
		local := int64(1)
		if r.Policy.Local {
			local = 0
		}
		return [4]int64{local, r.Policy.ID, int64(r.Action), int64(r.Rule)}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := rank(cs[i].Loser), rank(cs[j].Loser)
		if a != b {
			for k := range a {
				if a[k] != b[k] {
					return a[k] < b[k]
				}
			}
		}
		return pos(cs[i].Column) < pos(cs[j].Column)
	})
}

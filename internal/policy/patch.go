package policy

// patchPlan computes the plan of s after one global policy changed (old
// replaced by now; either may be nil), reusing from the current plan what the
// other policies contribute: their row rules, skips, and every column the
// changed policy neither masked nor masks. Only columns the policy touches
// are recomputed against all contributors, and unchanged parts of the plan
// are shared with the previous one (plans are never modified once built).
// The result equals buildPlan(s).
func (ix *Index) patchPlan(s *source, old, now *compiled) *Plan {
	prev := s.plan
	p, contributors := ix.startPlan(s, prev)
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

	// Subscription conflicts were recomputed by startPlan; share them if equal.
	if equalConflicts(p.Conflicts, prev.Conflicts) {
		p.Conflicts = prev.Conflicts
	}

	// Columns the policy masked, lost, or masks now are recomputed.
	var touched []bool
	touch := func(i int32) {
		if touched == nil {
			touched = make([]bool, len(s.cols))
		}
		touched[i] = true
	}
	for _, c := range prev.Columns {
		hit := false
		for _, m := range c.Masks {
			hit = hit || isP(m.Source)
		}
		for _, d := range c.Disabled {
			hit = hit || isP(d)
		}
		if hit {
			touch(c.col)
		}
	}
	for _, e := range scratch.entries {
		touch(int32(e.col))
	}
	if touched == nil {
		p.Columns = prev.Columns // the policy masks nothing here, before or after
		return p
	}
	b := &planner{ix: ix, s: s, p: p, entries: make([]maskEntry, 0, 16)}
	for ci, c := range contributors {
		for _, r := range c.rules {
			if r.typ != RuleMasking {
				continue
			}
			var buf [4]compiledField
			m, fields, ok := b.maskTargets(r, buf[:], false)
			if !ok {
				continue
			}
			for i, t := range touched {
				if t && b.selects(fields, i) {
					b.claim(ci, r, m, i)
				}
			}
		}
	}

	// Merge untouched columns from the previous plan with the recomputed ones.
	b.columns()
	recomputed := p.Columns
	n := len(recomputed)
	for _, c := range prev.Columns {
		if !touched[c.col] {
			n++
		}
	}
	p.Columns = make([]*ColumnPlan, 0, n)
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

func spliceRows(prev, mine []*RowRule, isP, beforeP func(*RuleRef) bool) []*RowRule {
	had := false
	for _, r := range prev {
		had = had || isP(r.Source)
	}
	if !had && len(mine) == 0 {
		return prev
	}
	out := make([]*RowRule, 0, len(prev)+len(mine))
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

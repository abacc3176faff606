package policy

import (
	"strings"
	"testing"
)

func TestWorldStats(t *testing.T) {
	w := newWorld(1)
	ix := NewIndex()
	for id := int64(1); id <= 1000; id++ {
		ix.UpsertPolicy(id, w.policy(id))
	}
	for id := int64(1); id <= 2000; id++ {
		ix.UpsertDataSource(w.dataSource(id, 30))
	}
	var matched, masks, rows, conflicts, cols int
	for _, s := range ix.order {
		matched += len(s.matched)
		for _, c := range s.plan.Columns {
			masks += len(c.Masks)
		}
		cols += len(s.plan.Columns)
		rows += len(s.plan.Rows)
		conflicts += len(s.plan.Conflicts)
	}
	kinds := map[string]int{}
	for _, s := range ix.order {
		for _, c := range s.matched {
			k := "none"
			if len(c.circs) > 0 {
				k = string(c.circs[0].typ)
				if c.circs[0].typ == CircColumnTags && !strings.Contains(ix.tags.names[c.circs[0].tag], " ") {
					k += "(parent:" + ix.tags.names[c.circs[0].tag] + ")"
				}
			}
			kinds[k]++
		}
	}
	for k, v := range kinds {
		if v > len(ix.order) {
			t.Logf("%s: %.1f", k, float64(v)/float64(len(ix.order)))
		}
	}
	n := len(ix.order)
	t.Logf("per data source: matched %.1f, masked cols %.1f, masks %.1f, rows %.1f, conflicts %.1f",
		float64(matched)/float64(n), float64(cols)/float64(n), float64(masks)/float64(n), float64(rows)/float64(n), float64(conflicts)/float64(n))
}

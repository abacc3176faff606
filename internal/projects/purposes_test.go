package projects

import (
	"fmt"
	"testing"
)

// TestPlanPurposes: what each list does to a project's purposes, for
// governors and for everyone else. Purposes 1 and 2 are live, 3 and 4
// staged; 5 and 6 are not in the project.
func TestPlanPurposes(t *testing.T) {
	cur := func() purposeStates { return purposeStates{1: false, 2: false, 3: true, 4: true} }
	for _, c := range []struct {
		name          string
		live, staged  []int64
		governs       bool
		want          string // the purposes after, live then staged
		added, asked  int
		approved, den int
	}{
		{"nothing given", nil, nil, true, "live [1 2] staged [3 4]", 0, 0, 0, 0},
		{"governor approves by listing", []int64{1, 2, 3}, nil, true, "live [1 2 3] staged [4]", 0, 0, 1, 0},
		{"governor denies by leaving out", []int64{1, 2, 3}, []int64{}, true, "live [1 2 3] staged []", 0, 0, 1, 1},
		{"governor adds live and staged", []int64{1, 2, 5}, []int64{3, 4, 6}, true, "live [1 2 5] staged [3 4 6]", 1, 1, 0, 0},
		{"governor stages a live one", nil, []int64{1, 3, 4}, true, "live [2] staged [1 3 4]", 0, 1, 0, 0},
		{"owner lists staged as live", []int64{1, 2, 3, 4}, nil, false, "live [1 2] staged [3 4]", 0, 0, 0, 0},
		{"owner adds", []int64{1, 2, 5}, nil, false, "live [1 2] staged [3 4 5]", 0, 1, 0, 0},
		{"owner stages a new one", nil, []int64{3, 4, 6}, false, "live [1 2] staged [3 4 6]", 0, 1, 0, 0},
		{"owner's staged list keeps live ones live", []int64{}, []int64{1}, false, "live [1] staged []", 0, 0, 0, 2},
		{"owner removes", []int64{2}, []int64{4}, false, "live [2] staged [4]", 0, 0, 0, 1},
		{"owner lists live ones as staged: they stay live", []int64{}, []int64{1, 2}, false, "live [1 2] staged []", 0, 0, 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, ch := planPurposes(cur(), c.live, c.staged, c.governs)
			var live, staged []int64
			for id := int64(1); id <= 6; id++ {
				if st, ok := want[id]; ok && st {
					staged = append(staged, id)
				} else if ok {
					live = append(live, id)
				}
			}
			got := fmt.Sprintf("live %v staged %v", orEmpty(live), orEmpty(staged))
			if got != c.want {
				t.Fatalf("%s, want %s", got, c.want)
			}
			if len(ch.Added) != c.added || len(ch.Requested)+len(ch.Demoted) != c.asked || len(ch.Approved) != c.approved ||
				len(ch.Denied) != c.den {
				t.Fatalf("change %+v", ch)
			}
			if again := diffPurposes(cur(), want); fmt.Sprint(again) != fmt.Sprint(ch) {
				t.Fatalf("diff %+v, plan %+v", again, ch)
			}
		})
	}
}

func orEmpty(l []int64) []int64 {
	if l == nil {
		return []int64{}
	}
	return l
}

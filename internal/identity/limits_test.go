package identity

import (
	"testing"
	"time"

	"github.com/custosdata/custos/internal/store"
)

func TestBudgetLetsLimitThroughThenOneEveryInterval(t *testing.T) {
	b := budget{limit: 3, window: 3 * time.Minute} // one attempt comes back every minute
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f := &store.AuthFailures{}
	for i := range 3 {
		if w := b.wait(f, t0); w != 0 {
			t.Fatalf("attempt %d waits %v", i+1, w)
		}
		b.spend(f, t0)
	}
	for _, tc := range []struct {
		at   time.Duration
		wait time.Duration
	}{{0, time.Minute}, {20 * time.Second, 40 * time.Second}, {time.Minute, 0}} {
		if w := b.wait(f, t0.Add(tc.at)); w != tc.wait {
			t.Errorf("at +%v: wait %v, want %v", tc.at, w, tc.wait)
		}
	}
	b.spend(f, t0.Add(time.Minute))
	if w := b.wait(f, t0.Add(time.Minute)); w != time.Minute {
		t.Errorf("after the attempt that came back: wait %v", w)
	}
	b.refund(f, t0.Add(time.Minute))
	if w := b.wait(f, t0.Add(time.Minute)); w != 0 {
		t.Errorf("after a refund: wait %v", w)
	}
	// Three minutes on, the budget is whole: three at once again.
	later := t0.Add(4 * time.Minute)
	for i := range 3 {
		if w := b.wait(f, later); w != 0 {
			t.Fatalf("later attempt %d waits %v", i+1, w)
		}
		b.spend(f, later)
	}
	if b.wait(f, later) == 0 {
		t.Error("a fourth attempt went through")
	}
	if (budget{limit: 0, window: time.Minute}).wait(f, later) != 0 {
		t.Error("a budget of 0 is no limit")
	}
}

func TestFailuresBeyondTheBurstAreCountedAndCarried(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f := &store.AuthFailures{}
	var recorded int
	for i := range 12 {
		if record, carried, _ := note(f, t0.Add(time.Duration(i)*time.Second)); record {
			recorded++
			if carried != 0 {
				t.Errorf("failure %d carries %d", i, carried)
			}
		}
	}
	if recorded != auditBurst || f.Pending != 12-auditBurst || !f.PendingSince.Equal(t0.Add(auditBurst*time.Second)) {
		t.Fatalf("recorded %d, pending %d since %v", recorded, f.Pending, f.PendingSince)
	}
	// The next minute's first failure is recorded and carries the count.
	record, carried, since := note(f, t0.Add(time.Minute+time.Second))
	if !record || carried != 12-auditBurst || !since.Equal(t0.Add(auditBurst*time.Second)) || f.Pending != 0 {
		t.Fatalf("record %v, carried %d since %v, pending %d", record, carried, since, f.Pending)
	}
}

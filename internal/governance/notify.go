package governance

import (
	"context"
	"sort"
	"sync"
)

// notifier delivers change announcements to the registered callbacks from
// one goroutine, merging what accumulates while a delivery runs: each id is
// announced once per delivery, and "everything" (nil) absorbs the ids.
type notifier struct {
	mu        sync.Mutex
	dsFns     []func([]int64)
	userFns   []func([]int64)
	ds, users map[int64]bool
	allDS     bool
	allUsers  bool
	wake      chan struct{}
}

func newNotifier() *notifier {
	return &notifier{ds: map[int64]bool{}, users: map[int64]bool{}, wake: make(chan struct{}, 1)}
}

func (n *notifier) subscribe(fn func([]int64)) {
	n.mu.Lock()
	n.dsFns = append(n.dsFns, fn)
	n.mu.Unlock()
}
func (n *notifier) subscribeUsers(fn func([]int64)) {
	n.mu.Lock()
	n.userFns = append(n.userFns, fn)
	n.mu.Unlock()
}

// announce queues data source and user ids; allDS/allUsers mean everything.
func (n *notifier) announce(ds, users []int64, allDS, allUsers bool) {
	if len(ds) == 0 && len(users) == 0 && !allDS && !allUsers {
		return
	}
	n.mu.Lock()
	for _, id := range ds {
		n.ds[id] = true
	}
	for _, id := range users {
		n.users[id] = true
	}
	n.allDS = n.allDS || allDS
	n.allUsers = n.allUsers || allUsers
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run delivers announcements until ctx ends.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		n.mu.Lock()
		ds, users := ids(n.ds, n.allDS), ids(n.users, n.allUsers)
		dsPending, usersPending := n.allDS || len(n.ds) > 0, n.allUsers || len(n.users) > 0
		n.ds, n.users, n.allDS, n.allUsers = map[int64]bool{}, map[int64]bool{}, false, false
		dsFns, userFns := append([]func([]int64){}, n.dsFns...), append([]func([]int64){}, n.userFns...)
		n.mu.Unlock()
		if dsPending {
			for _, fn := range dsFns {
				fn(clone(ds))
			}
		}
		if usersPending {
			for _, fn := range userFns {
				fn(clone(users))
			}
		}
	}
}

// ids returns the sorted ids, or nil for everything.
func ids(set map[int64]bool, all bool) []int64 {
	if all {
		return nil
	}
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func clone(s []int64) []int64 {
	if s == nil {
		return nil
	}
	return append([]int64{}, s...)
}

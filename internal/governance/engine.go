package governance

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/store"
)

// Change kinds this package appends (model type, id):
const (
	KindPolicySaved      = "policySaved"      // policy, policy id
	KindPolicyDeleted    = "policyDeleted"    // policy, policy id
	KindPolicyApplied    = "policyApplied"    // datasource, data source id
	KindLocalPolicySaved = "localPolicySaved" // datasource, data source id
	KindPurposeSaved     = "purposeSaved"     // purpose, purpose id
	KindPurposeDeleted   = "purposeDeleted"   // purpose, purpose id
)

// follower is the engine's position in the change log.
//
// On PostgreSQL the ids of concurrent transactions commit out of order, so
// the follower does not go by ids: each read asks for the changes written by
// transactions at or above the horizon — the oldest transaction not yet
// finished when the previous read took its snapshot — and skips those it
// applied already (written). Whatever a read could not see is written at or
// above its horizon, so no change is skipped however long its transaction
// stays open.
//
// SQLite commits one writer at a time, in id order. There the cursor moves
// only over ids that were applied; ids above it that were applied already
// are remembered in seen, and a hole below them (a rolled-back transaction)
// is waited for until GapTimeout has passed since it was noticed.
type follower struct {
	mu          sync.Mutex
	horizon     int64           // PostgreSQL: read the changes written at or above this transaction id
	written     map[int64]int64 // PostgreSQL: applied changes at or above the horizon, id → writer
	cursor      int64           // SQLite: every id up to here is applied or skipped
	seen        map[int64]bool  // SQLite: ids above the cursor already applied
	hole        time.Time       // SQLite: when the hole above the cursor was noticed
	expiredUpTo time.Time       // subscriptions expiring up to here were announced
}

const changePage = 1000

// Sync applies every change committed since the last call and announces
// what changed. The decision endpoints call it first, so that a change is
// reflected in the next decision; the loop of Run calls it periodically.
func (s *Service) Sync(ctx context.Context) error { return s.sync(ctx, false) }

// sync is Sync; with expire it also announces the data sources whose
// subscriptions expired since the last time (grants themselves always
// compare expirations with the clock).
func (s *Service) sync(ctx context.Context, expire bool) error {
	f := &s.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	b := newBatch()
	var ids []int64
	var written []store.WrittenChange
	horizon := f.horizon
	if s.db.Backend() == store.Postgres {
		var err error
		if written, horizon, err = s.db.ChangesWrittenSince(ctx, f.horizon); err != nil {
			return err
		}
		for _, c := range written {
			if _, ok := f.written[c.ID]; !ok {
				b.add(c.Change)
				ids = append(ids, c.ID)
			}
		}
	} else {
		for from := f.cursor; ; {
			page, err := s.db.ChangesAfter(ctx, from, changePage)
			if err != nil {
				return err
			}
			for _, c := range page {
				if !f.seen[c.ID] {
					b.add(c)
					ids = append(ids, c.ID)
				}
			}
			if len(page) < changePage {
				break
			}
			from = page[len(page)-1].ID
		}
	}
	var expiredUpTo time.Time
	if expire {
		expiredUpTo = store.Now()
		expiring, err := access.ExpiringBetween(ctx, &s.db.Queries, f.expiredUpTo, expiredUpTo)
		if err != nil {
			return err
		}
		for _, id := range expiring {
			// An owner's row running out can change which policies
			// apply (owner restrictions), so the data source is reloaded.
			b.sources[id], b.touched[id] = true, true
		}
	}
	if err := s.execute(ctx, b); err != nil {
		return err // nothing is marked applied: the same changes are tried again
	}
	if expire {
		f.expiredUpTo = expiredUpTo
	}
	s.applied.Add(float64(len(ids)))
	if s.db.Backend() == store.Postgres {
		// What was read is applied; what is written below the new
		// horizon will not be read again.
		if horizon > f.horizon {
			f.horizon = horizon
		}
		for _, c := range written {
			f.written[c.ID] = c.Writer
		}
		for id, w := range f.written {
			if w < f.horizon {
				delete(f.written, id)
			}
		}
		s.cursorLag.Set(float64(len(f.written)))
		return nil
	}
	for _, id := range ids {
		f.seen[id] = true
	}
	s.advance()
	s.cursorLag.Set(float64(len(f.seen)))
	return nil
}

// advance moves the cursor over applied ids, and over a hole once it has
// been waited for long enough. The caller holds f.mu.
func (s *Service) advance() {
	f := &s.follow
	for {
		if f.seen[f.cursor+1] {
			delete(f.seen, f.cursor+1)
			f.cursor++
			f.hole = time.Time{}
			continue
		}
		if len(f.seen) == 0 {
			return
		}
		// cursor+1 is missing but later ids were applied: a hole.
		if f.hole.IsZero() {
			f.hole = time.Now()
		}
		if time.Since(f.hole) < s.opts.GapTimeout {
			return
		}
		next := int64(-1)
		for id := range f.seen {
			if next < 0 || id < next {
				next = id
			}
		}
		s.log.Debug("change log: skipping ids that never committed", "from", f.cursor+1, "to", next-1)
		f.cursor = next - 1
		f.hole = time.Time{}
	}
}

// batch collects what a run of changes affects, so that each data source
// and user is reloaded once however many changes name it.
type batch struct {
	policies    map[int64]bool
	sources     map[int64]bool // reload; announce when the plan changed
	touched     map[int64]bool // announce: grants may have changed
	tags        map[int64]bool // renamed tags
	connections map[int64]bool
	users       map[int64]bool // reload entitlements; announce
	groups      map[int64]bool
	ownerUsers  map[int64]bool // deleted users whose owned data sources change owners
}

func newBatch() *batch {
	return &batch{policies: map[int64]bool{}, sources: map[int64]bool{}, touched: map[int64]bool{},
		tags: map[int64]bool{}, connections: map[int64]bool{}, users: map[int64]bool{}, groups: map[int64]bool{},
		ownerUsers: map[int64]bool{}}
}

// add classifies one change by the model it names. Kinds custos does not
// know are handled by reloading that model.
func (b *batch) add(c store.Change) {
	id, err := strconv.ParseInt(c.ModelID, 10, 64)
	switch c.ModelType {
	case "column":
		if ds, _, ok := store.ParseColumnModelID(c.ModelID); ok {
			b.sources[ds] = true
		}
		return
	case "purpose":
		// Purposes in use by policies can neither be renamed nor deleted,
		// so a purpose change never changes a plan.
		return
	}
	if err != nil {
		return
	}
	switch c.ModelType {
	case "policy":
		b.policies[id] = true
	case "datasource":
		b.sources[id] = true
		if c.Kind != "tagAttached" && c.Kind != "tagDetached" {
			b.touched[id] = true // owners or subscriptions may have changed
		}
	case "tag":
		b.tags[id] = true
	case "connection":
		b.connections[id] = true
	case "user":
		if c.Kind == "userPermissions" {
			return // permissions decide what users may do in custos, not what they see
		}
		b.users[id] = true
		if c.Kind == "userDeleted" {
			b.ownerUsers[id] = true
		}
	case "group":
		b.groups[id] = true
	}
}

// execute reloads what the batch names, applies it to the index and the
// user cache, and announces the data sources and users that changed.
func (s *Service) execute(ctx context.Context, b *batch) error {
	q := &s.db.Queries
	for id := range b.tags {
		var name string
		err := q.QueryRow(ctx, `SELECT name FROM tags WHERE id = $1`, id).Scan(&name)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			return err
		}
		ids, err := sourcesTagged(ctx, q, name)
		if err != nil {
			return err
		}
		for _, ds := range ids {
			b.sources[ds] = true
		}
	}
	for id := range b.connections {
		ids, err := sourcesOfConnection(ctx, q, id)
		if err != nil {
			return err
		}
		for _, ds := range ids {
			b.sources[ds] = true
		}
	}
	for id := range b.groups {
		owned, err := access.OwnedBy(ctx, q, access.ModelGroup, id)
		if err != nil {
			return err
		}
		for _, ds := range owned {
			b.sources[ds], b.touched[ds] = true, true
		}
		members, err := s.people.reloadGroup(ctx, q, id)
		if err != nil {
			return err
		}
		for _, u := range members {
			b.users[u] = true
		}
	}
	for id := range b.ownerUsers {
		owned, err := access.OwnedBy(ctx, q, access.ModelUser, id)
		if err != nil {
			return err
		}
		for _, ds := range owned {
			b.sources[ds], b.touched[ds] = true, true
		}
	}
	ix := s.index()
	changed := map[int64]bool{}
	for id := range b.policies {
		sp, err := getPolicy(ctx, q, id)
		if errors.Is(err, store.ErrNotFound) {
			for _, ds := range ix.RemovePolicy(id) {
				changed[ds] = true
			}
			continue
		} else if err != nil {
			return err
		}
		p, err := decodeStored(sp)
		var ids []int64
		if err == nil {
			ids, err = ix.UpsertPolicy(id, p)
		}
		if err != nil {
			s.log.Error("a stored policy does not load; it is ignored", "policy", sp.PolicyKey, "error", err)
			ids = ix.RemovePolicy(id)
		}
		for _, ds := range ids {
			changed[ds] = true
		}
	}
	if err := s.reloadSources(ctx, sortedIDs(b.sources), changed); err != nil {
		return err
	}
	s.recomputed.Add(float64(len(changed)))
	for id := range b.touched {
		changed[id] = true
	}
	s.refreshAuto(changed)
	var users []int64
	if len(b.users) > 0 {
		users = sortedIDs(b.users)
		before, after, err := s.people.load(ctx, q, users, s.opts.Acting)
		if err != nil {
			return err
		}
		ds, err := s.grantDiff(ctx, before, after)
		if err != nil {
			return err
		}
		for _, id := range ds {
			changed[id] = true
		}
	}
	s.notify.announce(sortedIDs(changed), users, false, false)
	return nil
}

// reloadSources reads the given data sources again and puts them in the
// index (or takes them out when deleted or disabled), recording in changed
// those whose plan changed.
func (s *Service) reloadSources(ctx context.Context, ids []int64, changed map[int64]bool) error {
	ix := s.index()
	for lo := 0; lo < len(ids); lo += 500 {
		chunk := ids[lo:min(lo+500, len(ids))]
		loaded, err := loadSources(ctx, &s.db.Queries, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			ls := loaded[id]
			if ls == nil || ls.row.Status != store.DataSourceEnabled {
				for _, ds := range ix.RemoveDataSource(id) {
					changed[ds] = true
				}
				s.srcMu.Lock()
				delete(s.sources, id)
				s.srcMu.Unlock()
				continue
			}
			got, err := ix.UpsertDataSource(s.dataSourceOf(ls))
			if err != nil {
				s.log.Error("a data source does not load into the policy engine", "dataSource", id, "error", err)
				continue
			}
			for _, ds := range got {
				changed[ds] = true
			}
			s.srcMu.Lock()
			if si := s.sources[id]; si != nil {
				si.name = ls.row.Name
			} else {
				s.sources[id] = &sourceInfo{name: ls.row.Name}
			}
			s.srcMu.Unlock()
		}
	}
	return nil
}

// refreshAuto records which of the given data sources admit users automatically.
func (s *Service) refreshAuto(ids map[int64]bool) {
	ix := s.index()
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	for id := range ids {
		if si := s.sources[id]; si != nil {
			p, _ := ix.Plan(id)
			si.auto = hasAutomatic(p)
		}
	}
}

// synced runs Sync after a write of this service, so that the writer's next
// read sees it; a failure is left to the loop, which retries.
func (s *Service) synced(ctx context.Context) {
	if err := s.Sync(ctx); err != nil {
		s.log.Warn("apply a change to the policy engine", "error", err)
	}
}

// grantDiff returns the data sources on which some user's grant differs
// between two states of the same users.
func (s *Service) grantDiff(ctx context.Context, before, after map[int64]*person) ([]int64, error) {
	gb, err := s.userGrants(ctx, before)
	if err != nil {
		return nil, err
	}
	ga, err := s.userGrants(ctx, after)
	if err != nil {
		return nil, err
	}
	diff := map[int64]bool{}
	compare := func(a, b map[int64]string) {
		for ds, g := range a {
			if b[ds] != g {
				diff[ds] = true
			}
		}
	}
	for id := range unionKeys(before, after) {
		compare(gb[id], ga[id])
		compare(ga[id], gb[id])
	}
	return sortedIDs(diff), nil
}

func unionKeys(a, b map[int64]*person) map[int64]bool {
	out := map[int64]bool{}
	for id := range a {
		out[id] = true
	}
	for id := range b {
		out[id] = true
	}
	return out
}

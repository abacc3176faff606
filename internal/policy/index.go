package policy

import (
	"bytes"
	"encoding/json"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/custosdata/custos/internal/errs"
)

var regexpNever = regexp.MustCompile(`[^\x00-\x{10FFFF}]`)

// Index holds every global policy and data source in memory, keeps each data
// source's Plan up to date, and tells after each change exactly which data
// sources' plans changed, so the caller can emit one change event for each.
// It is safe for concurrent use; changes are serialised.
type Index struct {
	mu       sync.RWMutex
	tags     *tagTable
	names    *strTable // column names
	strs     *strTable // column types, servers
	regexes  map[string]*regexCache
	policies map[int64]*compiled
	byTag    map[uint32][]*compiled // policies gated by a tag circumstance
	ungated  map[int64]*compiled    // policies every data source must be checked against
	sources  map[int64]*source
	order    []*source // all sources, for scans
	workers  int
}

// source is a data source in compact form: strings interned, tags as ids.
type source struct {
	id          int64
	name        string
	server      string // normalised
	createdAt   int64
	tags        []uint32 // the data source's own tags
	tblClosure  []uint32 // its tags with their ancestors, sorted
	colClosure  []uint32 // column tags with their ancestors, sorted
	ownerUsers  []UserRef
	ownerGroups []string
	eventTime   int32 // column index or -1
	highCard    int32
	cols        []column
	colTags     []uint32
	applied     []int64
	local       *compiledLocal
	matched     []*compiled // applying global policies, by ascending id
	plan        *Plan
	pos         int // position in Index.order
}

type column struct {
	name   uint32
	typ    uint32
	tagOff uint32
	ntags  uint32
}

type compiledLocal struct {
	ref   *PolicyRef
	sub   *compiledSub
	rules []*compiledRule
	set   compiledSet
}

func (s *source) colTagIDs(i int) []uint32 {
	c := s.cols[i]
	return s.colTags[c.tagOff : c.tagOff+c.ntags]
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{tags: newTagTable(), names: newStrTable(), strs: newStrTable(), regexes: map[string]*regexCache{},
		policies: map[int64]*compiled{}, byTag: map[uint32][]*compiled{}, ungated: map[int64]*compiled{},
		sources: map[int64]*source{}, workers: runtime.GOMAXPROCS(0)}
}

// Plan returns the current plan of a data source.
func (ix *Index) Plan(dataSource int64) (*Plan, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s, ok := ix.sources[dataSource]
	if !ok {
		return nil, false
	}
	return s.plan, true
}

// AppliesTo lists the data sources a global policy currently applies to, ascending.
func (ix *Index) AppliesTo(policyID int64) []int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c, ok := ix.policies[policyID]
	if !ok {
		return nil
	}
	var out []int64
	for _, s := range ix.order {
		if hasPolicy(s.matched, c) {
			out = append(out, s.id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TargetColumns returns the names of the columns of the data sources policy p
// would apply to now (saved under id: the policy it replaces, 0 for a new
// one), and how many data sources that is. p must be valid.
func (ix *Index) TargetColumns(id int64, p *Policy) (map[string]bool, int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	c := ix.compile(id, p)
	defer ix.release(c)
	cols := map[string]bool{}
	n := 0
	for _, s := range ix.order {
		if !ix.matches(c, s) {
			continue
		}
		n++
		for _, col := range s.cols {
			cols[ix.names.strs[col.name]] = true
		}
	}
	return cols, n
}

// Len returns the number of policies and data sources held.
func (ix *Index) Len() (policies, dataSources int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.policies), len(ix.sources)
}

// UpsertPolicy adds or replaces global policy id and returns the data sources
// whose plan changed, ascending. The id orders policies: on a conflict the
// lower id (the older policy) wins. The policy must be valid, but for
// predicates that no longer parse: their rules are planned closed.
func (ix *Index) UpsertPolicy(id int64, p *Policy) ([]int64, error) {
	if err := p.validateStored(); err != nil {
		return nil, err
	}
	canonical, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old := ix.policies[id]
	if old != nil && bytes.Equal(old.canonical, canonical) {
		return nil, nil // the same policy again: nothing changes
	}
	c := ix.compile(id, p)
	c.canonical = canonical
	if old != nil {
		ix.unindexPolicy(old)
	}
	ix.policies[id] = c
	ix.indexPolicy(c)
	var affected []*source
	for _, s := range ix.order {
		was := old != nil && hasPolicy(s.matched, old)
		now := ix.matches(c, s)
		switch {
		case was && now:
			s.matched = replacePolicy(s.matched, old, c)
		case was:
			s.matched = removePolicy(s.matched, old)
		case now:
			s.matched = insertPolicy(s.matched, c)
		default:
			continue
		}
		affected = append(affected, s)
	}
	if old != nil {
		ix.release(old)
	}
	return ix.replanPolicy(affected, old, c), nil
}

// RemovePolicy removes global policy id and returns the data sources whose
// plan changed.
func (ix *Index) RemovePolicy(id int64) []int64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old, ok := ix.policies[id]
	if !ok {
		return nil
	}
	delete(ix.policies, id)
	ix.unindexPolicy(old)
	var affected []*source
	for _, s := range ix.order {
		if hasPolicy(s.matched, old) {
			s.matched = removePolicy(s.matched, old)
			affected = append(affected, s)
		}
	}
	ix.release(old)
	return ix.replanPolicy(affected, old, nil)
}

// UpsertDataSource adds or replaces a data source; the result holds its id
// when its plan is new or changed.
func (ix *Index) UpsertDataSource(ds DataSource) ([]int64, error) {
	var lp *compiledLocal
	if ds.Local != nil {
		if err := ds.Local.validateStored(); err != nil {
			return nil, err
		}
	}
	if err := validateDataSource(&ds); err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ds.Local != nil {
		lp = ix.compileLocal(ds.ID, ds.Local)
	}
	old := ix.sources[ds.ID]
	s := ix.compact(&ds)
	s.local = lp
	if old != nil {
		s.plan, s.pos = old.plan, old.pos
		ix.order[s.pos] = s
	} else {
		s.pos = len(ix.order)
		ix.order = append(ix.order, s)
	}
	ix.sources[ds.ID] = s
	ix.rematch(s)
	return ix.replan([]*source{s}), nil
}

func validateDataSource(ds *DataSource) error {
	var l errs.List
	seen := map[string]bool{}
	for i, c := range ds.Columns {
		p := index("columns", i) + ".name"
		l.Require(p, c.Name)
		if seen[c.Name] {
			l.Add(p, errs.CodeUnique, "column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		for j, t := range c.Tags {
			validateTag(&l, index(index("columns", i)+".tags", j), t)
		}
	}
	for j, t := range ds.Tags {
		validateTag(&l, index("tags", j), t)
	}
	if ds.EventTimeColumn != "" && !seen[ds.EventTimeColumn] {
		l.Add("eventTimeColumn", errs.CodeNotFound, "eventTimeColumn %q is not a column", ds.EventTimeColumn)
	}
	if ds.HighCardinalityColumn != "" && !seen[ds.HighCardinalityColumn] {
		l.Add("highCardinalityColumn", errs.CodeNotFound, "highCardinalityColumn %q is not a column", ds.HighCardinalityColumn)
	}
	return l.Err()
}

// RemoveDataSource forgets a data source; the result holds its id if it was known.
func (ix *Index) RemoveDataSource(id int64) []int64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s, ok := ix.sources[id]
	if !ok {
		return nil
	}
	delete(ix.sources, id)
	last := ix.order[len(ix.order)-1]
	ix.order[s.pos], last.pos = last, s.pos
	ix.order = ix.order[:len(ix.order)-1]
	return []int64{id}
}

// TagColumn adds a tag to a column and returns the data sources whose plan changed.
func (ix *Index) TagColumn(dataSource int64, columnName, tag string) ([]int64, error) {
	return ix.retagColumn(dataSource, columnName, tag, true)
}

// UntagColumn removes a tag from a column.
func (ix *Index) UntagColumn(dataSource int64, columnName, tag string) ([]int64, error) {
	return ix.retagColumn(dataSource, columnName, tag, false)
}

func (ix *Index) retagColumn(dsID int64, columnName, tag string, add bool) ([]int64, error) {
	var l errs.List
	validateTag(&l, "tag", tag)
	if err := l.Err(); err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s, ok := ix.sources[dsID]
	if !ok {
		return nil, errs.NotFoundf("data source %d not found", dsID)
	}
	ci := -1
	if nid, ok := ix.names.ids[columnName]; ok {
		for i, c := range s.cols {
			if c.name == nid {
				ci = i
				break
			}
		}
	}
	if ci < 0 {
		return nil, errs.NotFoundf("data source %d has no column %q", dsID, columnName)
	}
	tid := ix.tags.intern(tag)
	cur := s.colTagIDs(ci)
	has := false
	for _, t := range cur {
		has = has || t == tid
	}
	if has == add {
		return nil, nil
	}
	// Rebuild the flat tag array with the one column changed.
	ns := *s
	ns.cols = append([]column(nil), s.cols...)
	ns.colTags = make([]uint32, 0, len(s.colTags)+1)
	for i := range s.cols {
		tags := s.colTagIDs(i)
		off := uint32(len(ns.colTags))
		for _, t := range tags {
			if i == ci && !add && t == tid {
				continue
			}
			ns.colTags = append(ns.colTags, t)
		}
		if i == ci && add {
			ns.colTags = append(ns.colTags, tid)
		}
		ns.cols[i].tagOff, ns.cols[i].ntags = off, uint32(len(ns.colTags))-off
	}
	ns.colClosure = ix.tags.closure(ns.colTags)
	*s = ns
	ix.rematch(s)
	return ix.replan([]*source{s}), nil
}

// TagDataSource adds a tag to the data source itself (not a column).
func (ix *Index) TagDataSource(dataSource int64, tag string) ([]int64, error) {
	return ix.retagSource(dataSource, tag, true)
}

// UntagDataSource removes a tag from the data source itself.
func (ix *Index) UntagDataSource(dataSource int64, tag string) ([]int64, error) {
	return ix.retagSource(dataSource, tag, false)
}

func (ix *Index) retagSource(dsID int64, tag string, add bool) ([]int64, error) {
	var l errs.List
	validateTag(&l, "tag", tag)
	if err := l.Err(); err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s, ok := ix.sources[dsID]
	if !ok {
		return nil, errs.NotFoundf("data source %d not found", dsID)
	}
	tid := ix.tags.intern(tag)
	tags := make([]uint32, 0, len(s.tags)+1)
	has := false
	for _, t := range s.tags {
		if t == tid {
			has = true
			if !add {
				continue
			}
		}
		tags = append(tags, t)
	}
	if has == add {
		return nil, nil
	}
	if add {
		tags = append(tags, tid)
	}
	s.tags, s.tblClosure = tags, ix.tags.closure(tags)
	ix.rematch(s)
	return ix.replan([]*source{s}), nil
}

// SetLocalPolicy replaces a data source's own policy (nil removes it).
func (ix *Index) SetLocalPolicy(dataSource int64, lp *LocalPolicy) ([]int64, error) {
	if lp != nil {
		if err := lp.validateStored(); err != nil {
			return nil, err
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s, ok := ix.sources[dataSource]
	if !ok {
		return nil, errs.NotFoundf("data source %d not found", dataSource)
	}
	s.local = nil
	if lp != nil {
		s.local = ix.compileLocal(dataSource, lp)
	}
	return ix.replan([]*source{s}), nil
}

func (ix *Index) compileLocal(dsID int64, lp *LocalPolicy) *compiledLocal {
	ref := &PolicyRef{ID: dsID, Local: true}
	cl := &compiledLocal{ref: ref, rules: ix.compileRules(ref, lp.Data)}
	if lp.Subscription != nil {
		cl.sub = compileSub(lp.Subscription, &RuleRef{Policy: *ref})
	}
	cl.set = compiledSet{ref: ref, sub: cl.sub, rules: cl.rules}
	return cl
}

// compact interns a data source.
func (ix *Index) compact(ds *DataSource) *source {
	s := &source{id: ds.ID, name: ds.Name, server: ix.strs.strs[ix.strs.intern(normServer(ds.Server))],
		createdAt: ds.CreatedAt.UnixNano(), ownerUsers: ds.OwnerUsers, ownerGroups: ds.OwnerGroups,
		eventTime: -1, highCard: -1, applied: append([]int64(nil), ds.AppliedPolicies...)}
	for _, t := range ds.Tags {
		s.tags = append(s.tags, ix.tags.intern(t))
	}
	s.tblClosure = ix.tags.closure(s.tags)
	s.cols = make([]column, len(ds.Columns))
	n := 0
	for _, c := range ds.Columns {
		n += len(c.Tags)
	}
	s.colTags = make([]uint32, 0, n)
	grown := false
	for i, c := range ds.Columns {
		before := len(ix.names.strs)
		col := column{name: ix.names.intern(c.Name), typ: ix.strs.intern(c.Type), tagOff: uint32(len(s.colTags))}
		grown = grown || len(ix.names.strs) != before
		for _, t := range c.Tags {
			s.colTags = append(s.colTags, ix.tags.intern(t))
		}
		col.ntags = uint32(len(s.colTags)) - col.tagOff
		s.cols[i] = col
		if c.Name == ds.EventTimeColumn {
			s.eventTime = int32(i)
		}
		if c.Name == ds.HighCardinalityColumn {
			s.highCard = int32(i)
		}
	}
	s.colClosure = ix.tags.closure(s.colTags)
	if grown {
		for _, rc := range ix.regexes {
			rc.extend(ix.names.strs)
		}
	}
	return s
}

// gate returns the tags under which a policy is indexed, or nil when every
// data source must be checked against it.
func gate(c *compiled) []uint32 {
	var tags []uint32
	for _, ci := range c.circs {
		isTag := ci.typ == CircTags || ci.typ == CircColumnTags
		if c.anyOp {
			if !isTag {
				return nil
			}
			tags = append(tags, ci.tag)
		} else if isTag {
			return []uint32{ci.tag}
		}
	}
	return tags
}

func (ix *Index) indexPolicy(c *compiled) {
	if g := gate(c); len(g) > 0 {
		for _, t := range g {
			ix.byTag[t] = append(ix.byTag[t], c)
		}
		return
	}
	ix.ungated[c.ref.ID] = c
}

func (ix *Index) unindexPolicy(c *compiled) {
	delete(ix.ungated, c.ref.ID)
	for _, t := range gate(c) {
		l := ix.byTag[t]
		for i, x := range l {
			if x == c {
				l = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(ix.byTag, t)
		} else {
			ix.byTag[t] = l
		}
	}
}

// rematch recomputes which global policies apply to s, checking only the
// candidates the tag index offers.
func (ix *Index) rematch(s *source) {
	seen := map[*compiled]bool{}
	var matched []*compiled
	try := func(c *compiled) {
		if seen[c] {
			return
		}
		seen[c] = true
		if ix.matches(c, s) {
			matched = append(matched, c)
		}
	}
	for _, c := range ix.ungated {
		try(c)
	}
	for _, closure := range [][]uint32{s.colClosure, s.tblClosure} {
		for _, t := range closure {
			for _, c := range ix.byTag[t] {
				try(c)
			}
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].ref.ID < matched[j].ref.ID })
	s.matched = matched
}

// matches decides whether global policy c applies to data source s.
func (ix *Index) matches(c *compiled, s *source) bool {
	if c.staged {
		return false
	}
	if c.ownerApplied {
		found := false
		for _, id := range s.applied {
			found = found || id == c.ref.ID
		}
		if !found {
			return false
		}
	}
	if c.restricted && !ownedBy(c, s) {
		return false
	}
	if len(c.circs) == 0 {
		return true
	}
	for _, ci := range c.circs {
		ok := ix.circumstanceHolds(ci, s)
		if c.anyOp && ok {
			return true
		}
		if !c.anyOp && !ok {
			return false
		}
	}
	return !c.anyOp
}

func ownedBy(c *compiled, s *source) bool {
	for _, g := range s.ownerGroups {
		if c.ownerGroups[g] {
			return true
		}
	}
	for _, u := range s.ownerUsers {
		for _, r := range c.ownerUsers {
			// User ids are case-insensitive, as the store matches them.
			if (r.Username == "" || strings.EqualFold(r.Username, u.Username)) && (r.IAMID == "" || r.IAMID == u.IAMID) {
				return true
			}
		}
	}
	return false
}

func (ix *Index) circumstanceHolds(ci compiledCirc, s *source) bool {
	switch ci.typ {
	case CircTags:
		return containsSorted(s.tblClosure, ci.tag)
	case CircColumnTags:
		return containsSorted(s.colClosure, ci.tag)
	case CircColumnRegex:
		for _, c := range s.cols {
			if ci.re.match(c.name) {
				return true
			}
		}
		return false
	case CircAnyTag:
		return len(s.tags) > 0 || len(s.colTags) > 0
	case CircNoTags:
		return len(s.tags) == 0 && len(s.colTags) == 0
	case CircServer:
		return s.server == ci.server
	case CircTime:
		return s.createdAt >= ci.start && s.createdAt <= ci.end
	}
	return false
}

func hasPolicy(l []*compiled, c *compiled) bool {
	i := sort.Search(len(l), func(i int) bool { return l[i].ref.ID >= c.ref.ID })
	return i < len(l) && l[i] == c
}

func insertPolicy(l []*compiled, c *compiled) []*compiled {
	i := sort.Search(len(l), func(i int) bool { return l[i].ref.ID >= c.ref.ID })
	out := make([]*compiled, 0, len(l)+1)
	out = append(out, l[:i]...)
	out = append(out, c)
	return append(out, l[i:]...)
}

func removePolicy(l []*compiled, c *compiled) []*compiled {
	out := make([]*compiled, 0, len(l))
	for _, x := range l {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

func replacePolicy(l []*compiled, old, c *compiled) []*compiled {
	out := make([]*compiled, len(l))
	for i, x := range l {
		if x == old {
			x = c
		}
		out[i] = x
	}
	return out
}

// replan rebuilds the plans of the given sources (in parallel when there are
// many) and returns the ids of those whose plan changed, ascending.
func (ix *Index) replan(srcs []*source) []int64 { return ix.replanPolicy(srcs, nil, nil) }

// replanPolicy is replan after global policy old was replaced by now: plans
// that exist are patched rather than rebuilt.
func (ix *Index) replanPolicy(srcs []*source, old, now *compiled) []int64 {
	changed := make([]bool, len(srcs))
	work := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := srcs[i]
			var p *Plan
			if s.plan != nil && (old != nil || now != nil) {
				p = ix.patchPlan(s, old, now)
			} else {
				p = ix.buildPlan(s)
			}
			if s.plan == nil || !s.plan.Equal(p) {
				s.plan = p
				changed[i] = true
			}
		}
	}
	if n := ix.workers; n > 1 && len(srcs) >= 256 {
		var wg sync.WaitGroup
		chunk := (len(srcs) + n - 1) / n
		for lo := 0; lo < len(srcs); lo += chunk {
			wg.Add(1)
			go func(lo, hi int) { defer wg.Done(); work(lo, hi) }(lo, min(lo+chunk, len(srcs)))
		}
		wg.Wait()
	} else {
		work(0, len(srcs))
	}
	var out []int64
	for i, c := range changed {
		if c {
			out = append(out, srcs[i].id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

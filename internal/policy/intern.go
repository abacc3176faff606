package policy

import (
	"regexp"
	"sort"
	"strings"
)

// tagTable interns tag names; a tag's id knows its parent, so "is this tag
// Discovered.PII or below it" is a short walk up.
type tagTable struct {
	ids    map[string]uint32
	names  []string // by id; id 0 is unused
	parent []uint32 // by id; 0 for a root tag
}

func newTagTable() *tagTable {
	return &tagTable{ids: map[string]uint32{}, names: []string{""}, parent: []uint32{0}}
}

// intern returns the id of name, creating it and its ancestors as needed.
func (t *tagTable) intern(name string) uint32 {
	if id, ok := t.ids[name]; ok {
		return id
	}
	var parent uint32
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		parent = t.intern(name[:i])
	}
	id := uint32(len(t.names))
	t.ids[name] = id
	t.names = append(t.names, name)
	t.parent = append(t.parent, parent)
	return id
}

// under reports whether tag is anc or one of its descendants.
func (t *tagTable) under(tag, anc uint32) bool {
	for tag != 0 {
		if tag == anc {
			return true
		}
		tag = t.parent[tag]
	}
	return false
}

// closure returns the sorted set of tags and all their ancestors.
func (t *tagTable) closure(tags []uint32) []uint32 {
	if len(tags) == 0 {
		return nil
	}
	var out []uint32
	for _, id := range tags {
		for ; id != 0; id = t.parent[id] {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return dedupSorted(out)
}

func dedupSorted(s []uint32) []uint32 {
	if len(s) < 2 {
		return s
	}
	j := 1
	for i := 1; i < len(s); i++ {
		if s[i] != s[j-1] {
			s[j] = s[i]
			j++
		}
	}
	return s[:j:j]
}

func containsSorted(s []uint32, x uint32) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= x })
	return i < len(s) && s[i] == x
}

// strTable interns strings (column names, types, servers) so that the many
// data sources sharing them share one copy; column names also get ids for the
// regex caches.
type strTable struct {
	ids  map[string]uint32
	strs []string
}

func newStrTable() *strTable { return &strTable{ids: map[string]uint32{}} }

func (s *strTable) intern(v string) uint32 {
	if id, ok := s.ids[v]; ok {
		return id
	}
	id := uint32(len(s.strs))
	s.ids[v] = id
	s.strs = append(s.strs, v)
	return id
}

// regexCache remembers, per interned column name, whether a regex matches it,
// so a regex runs once per distinct name instead of once per column.
type regexCache struct {
	re   *regexp.Regexp
	hits []uint8 // by name id: 1 no, 2 yes (0: not computed yet)
	refs int
}

func (c *regexCache) extend(names []string) {
	for id := len(c.hits); id < len(names); id++ {
		v := uint8(1)
		if c.re.MatchString(names[id]) {
			v = 2
		}
		c.hits = append(c.hits, v)
	}
}

func (c *regexCache) match(name uint32) bool { return c.hits[name] == 2 }

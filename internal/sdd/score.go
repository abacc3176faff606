package sdd

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custosdata/custos/internal/errs"
)

// Column is what scoring knows of one column: its name, its type family
// (connector.Column.DataType: text, integer, date, timestamp, ...) and the
// non-null values of a sample, in text form.
type Column struct {
	Name     string
	DataType string
	Values   []string
	Nulls    int // sampled rows where the column was NULL; informational
}

// Match is an identifier that reached its minimum confidence on a column.
type Match struct {
	Identifier string   `json:"identifier"`
	Confidence float64  `json:"confidence"` // share of non-null sampled values matched, or 1 for a name match
	Tags       []string `json:"tags"`
}

// Result is the outcome of scoring one column: the identifiers that
// matched, by name, and the union of their tags, sorted.
type Result struct {
	Column  string   `json:"column"`
	Matches []Match  `json:"matches"`
	Tags    []string `json:"tags"`
}

// Scorer scores columns against the identifiers of one framework. It is
// immutable and safe for concurrent use.
type Scorer struct {
	rules []rule
}

type rule struct {
	name        string
	tags        []string
	min         float64
	conditional []conditionalTag
	match       func(c *column, min float64) float64
}

type conditionalTag struct {
	tag string
	re  *regexp.Regexp
}

// column is a Column prepared once for every identifier.
type column struct {
	name     string   // as written
	words    string   // lower-case words joined by "_"
	dataType string   // type family
	values   []string // non-null values without surrounding blanks
}

// Compile prepares a framework for scoring. lookup resolves the names of
// user-defined identifiers (nil when there are none); built-in identifiers
// resolve by themselves. A name that resolves to nothing is a 422 on
// classifiers[i].name.
func Compile(f Framework, lookup func(name string) (Identifier, bool)) (*Scorer, error) {
	s := &Scorer{}
	var l errs.List
	for i, fc := range f.Classifiers {
		at := fmt.Sprintf("classifiers[%d]", i)
		var id Identifier
		var ok bool
		if lookup != nil {
			id, ok = lookup(fc.Name)
		}
		if !ok {
			id, ok = BuiltIn(fc.Name)
		}
		if !ok {
			l.Add(at+".name", errs.CodeNotFound, "there is no identifier named %q", fc.Name)
			continue
		}
		r, err := compileRule(id, fc.Overrides)
		if err != nil {
			l.Add(at+".name", errs.CodeInvalid, "identifier %q cannot be compiled: %v", fc.Name, err)
			continue
		}
		s.rules = append(s.rules, r)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(s.rules, func(a, b rule) int { return strings.Compare(a.name, b.name) })
	return s, nil
}

// MustCompile is Compile for frameworks known to be valid, such as
// DefaultFramework; it panics on error.
func MustCompile(f Framework, lookup func(name string) (Identifier, bool)) *Scorer {
	s, err := Compile(f, lookup)
	if err != nil {
		panic(err)
	}
	return s
}

func compileRule(id Identifier, o Overrides) (rule, error) {
	c := id.Config
	r := rule{name: id.Name, tags: c.Tags, min: DefaultMinConfidence}
	if c.MinConfidence != nil {
		r.min = *c.MinConfidence
	}
	if len(o.Tags) > 0 {
		r.tags = o.Tags
	}
	if o.MinConfidence != nil {
		r.min = *o.MinConfidence
	}
	r.tags = sortedUnique(r.tags)
	for _, tag := range sortedKeys(c.ConditionalTags) {
		re, err := regexp.Compile("(?i)" + c.ConditionalTags[tag].ColumnNameRegex)
		if err != nil {
			return rule{}, err
		}
		r.conditional = append(r.conditional, conditionalTag{tag: tag, re: re})
	}
	switch id.Type {
	case TypeBuiltIn:
		b := findBuiltIn(id.Name)
		if b == nil {
			return rule{}, fmt.Errorf("no built-in identifier is named %q", id.Name)
		}
		r.match = b.match
	case TypeRegex:
		pattern := c.Regex
		if !c.CaseSensitive {
			pattern = "(?i)" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return rule{}, err
		}
		r.match = func(col *column, min float64) float64 { return shareOf(col.values, min, re.MatchString) }
	case TypeColumnNameRegex:
		re, err := regexp.Compile("(?i)" + c.ColumnNameRegex)
		if err != nil {
			return rule{}, err
		}
		r.match = func(col *column, _ float64) float64 {
			if re.MatchString(col.name) {
				return 1
			}
			return 0
		}
	case TypeDictionary:
		words := make(map[string]bool, len(c.Values))
		for _, v := range c.Values {
			v = strings.TrimSpace(v)
			if !c.CaseSensitive {
				v = strings.ToLower(v)
			}
			words[v] = true
		}
		if c.CaseSensitive {
			r.match = func(col *column, min float64) float64 {
				return shareOf(col.values, min, func(v string) bool { return words[v] })
			}
		} else {
			r.match = func(col *column, min float64) float64 {
				return shareOf(col.values, min, func(v string) bool { return lookupFold(words, v) })
			}
		}
	default:
		return rule{}, fmt.Errorf("unknown identifier type %q", id.Type)
	}
	return r, nil
}

// Identifiers lists the names of the identifiers the scorer runs, sorted.
func (s *Scorer) Identifiers() []string {
	names := make([]string, len(s.rules))
	for i, r := range s.rules {
		names[i] = r.name
	}
	return names
}

// Score returns the identifiers that match the column at or above their
// minimum confidence, and the tags to apply. An identifier matches only on
// some evidence: a confidence of 0 never matches, whatever its minimum.
// The result depends only on the column, never on order or timing.
func (s *Scorer) Score(col Column) Result {
	c := prepare(col)
	res := Result{Column: col.Name, Matches: []Match{}}
	var tags []string
	for _, r := range s.rules {
		conf := r.match(&c, r.min)
		if conf <= 0 || conf+1e-9 < r.min {
			continue
		}
		m := Match{Identifier: r.name, Confidence: conf, Tags: slices.Clone(r.tags)}
		for _, ct := range r.conditional {
			if ct.re.MatchString(c.name) {
				m.Tags = append(m.Tags, ct.tag)
			}
		}
		m.Tags = sortedUnique(m.Tags)
		res.Matches = append(res.Matches, m)
		tags = append(tags, m.Tags...)
	}
	res.Tags = sortedUnique(tags)
	if res.Tags == nil {
		res.Tags = []string{}
	}
	return res
}

// ScoreAll scores each column.
func (s *Scorer) ScoreAll(cols []Column) []Result {
	out := make([]Result, len(cols))
	for i, c := range cols {
		out[i] = s.Score(c)
	}
	return out
}

// TagsByColumn gives, for the columns that received tags, their tags: the
// shape of an SDD run's sddTagResult.
func TagsByColumn(results []Result) map[string][]string {
	out := map[string][]string{}
	for _, r := range results {
		if len(r.Tags) > 0 {
			out[r.Column] = slices.Clone(r.Tags)
		}
	}
	return out
}

// Diff compares the Discovered tags a previous run left on each column with
// those of a new run: added are new, removed are no longer found. Columns
// with nothing added (or removed) are left out of that map.
func Diff(previous, next map[string][]string) (added, removed map[string][]string) {
	added, removed = map[string][]string{}, map[string][]string{}
	for col, tags := range next {
		if d := minus(tags, previous[col]); len(d) > 0 {
			added[col] = d
		}
	}
	for col, tags := range previous {
		if d := minus(tags, next[col]); len(d) > 0 {
			removed[col] = d
		}
	}
	return added, removed
}

// minus returns the sorted tags of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, t := range a {
		if !slices.Contains(b, t) {
			out = append(out, t)
		}
	}
	return sortedUnique(out)
}

func prepare(col Column) column {
	c := column{name: col.Name, words: words(col.Name), dataType: col.DataType, values: make([]string, 0, len(col.Values))}
	for _, v := range col.Values {
		if v = strings.TrimSpace(v); v != "" {
			c.values = append(c.values, v)
		}
	}
	return c
}

// shareOf returns the share of values that satisfy match. It stops as soon
// as min can no longer be reached and then returns a share below min, so
// that identifiers that clearly do not apply cost a few checks.
func shareOf(values []string, min float64, match func(string) bool) float64 {
	n := len(values)
	if n == 0 {
		return 0
	}
	need := int(math.Ceil(min*float64(n) - 1e-9))
	allowed := n - max(need, 1) // misses that still leave need hits possible
	hits, misses := 0, 0
	for _, v := range values {
		if match(v) {
			hits++
			continue
		}
		misses++
		if misses > allowed {
			return float64(hits) / float64(n) // below min: fewer than need hits remain possible
		}
	}
	return float64(hits) / float64(n)
}

// words normalises a column name to lower-case words joined by "_",
// splitting at anything not a letter or digit and at case changes:
// "EMail Address" → e_mail_address, "customerID" → customer_id,
// "ZIPCode" → zip_code.
func words(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 4)
	var prev rune
	pending := false // a separator is due before the next letter or digit
	runes := []rune(name)
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			pending = b.Len() > 0
			prev = r
			continue
		}
		if b.Len() > 0 && !pending && isUpper(r) {
			next := utf8.RuneError
			if i+1 < len(runes) {
				next = runes[i+1]
			}
			// aB starts a word; so does the B of ABc.
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || isUpper(prev) && unicode.IsLower(next) {
				pending = true
			}
		}
		if pending {
			b.WriteByte('_')
			pending = false
		}
		b.WriteRune(unicode.ToLower(r))
		prev = r
	}
	return b.String()
}

// isUpper reports an upper-case letter that has a lower-case form.
func isUpper(r rune) bool { return unicode.IsUpper(r) && unicode.ToLower(r) != r }

// sortedUnique sorts tags and drops duplicates.
func sortedUnique(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

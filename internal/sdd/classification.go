package sdd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/custosdata/custos/internal/errs"
)

// Classification is a classification framework (the /frameworks API): rules
// that derive classification tags from the tags already on a data source
// and its columns, such as those SDD applied. For example, "tag every column
// HR Framework.Internal Employee Data when any column is tagged Employee
// Name".
type Classification struct {
	ShortName   string               `json:"shortName"`
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Tags        []ClassificationTag  `json:"tags"`
	Rules       []ClassificationRule `json:"rules"`
	Active      bool                 `json:"active"` // only active frameworks classify
}

// ClassificationTag declares a tag the framework applies, with its
// sensitivity.
type ClassificationTag struct {
	Name          string        `json:"name"`   // the full tag path, e.g. "HR Framework.Internal Employee Data"
	Source        string        `json:"source"` // "curated" (a custos tag) or an external catalog's id
	Description   string        `json:"description,omitempty"`
	Sensitivities []Sensitivity `json:"sensitivities"`
}

// Sensitivity rates a tag along one dimension.
type Sensitivity struct {
	Dimension   string `json:"dimension"`   // "confidentiality"
	Sensitivity int    `json:"sensitivity"` // 0 non-sensitive, 1 sensitive, 2 highly sensitive
}

// TagRef names a tag and the catalog it comes from.
type TagRef struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// ClassificationRule applies ClassificationTag to the columns it selects:
// the columns carrying every ColumnTags tag (every column when there are
// none), provided the data source carries every TableTags tag and some
// column carries each NeighborColumnTags tag. A tag satisfies a criterion
// when it is the criterion's tag or one of its descendants.
type ClassificationRule struct {
	Name               string   `json:"name"`
	ClassificationTag  TagRef   `json:"classificationTag"`
	ColumnTags         []TagRef `json:"columnTags"`
	NeighborColumnTags []TagRef `json:"neighborColumnTags"`
	TableTags          []TagRef `json:"tableTags"`
}

// Sensitivity dimensions and levels.
const (
	DimensionConfidentiality = "confidentiality"
	MaxSensitivity           = 2
)

// ParseClassification decodes a JSON classification framework and
// validates it.
func ParseClassification(data []byte) (Classification, error) {
	var c Classification
	if err := decodeJSON(data, &c); err != nil {
		return Classification{}, err
	}
	return c, c.Validate()
}

// Validate checks a classification framework payload, reporting every
// problem as a 422 naming its field. Each rule's classification tag must be
// declared in tags, and each rule needs at least one criterion.
func (c Classification) Validate() error {
	var l errs.List
	requireText(&l, "shortName", c.ShortName)
	requireText(&l, "name", c.Name)
	requireText(&l, "description", c.Description)
	if len(c.Tags) == 0 {
		l.Add("tags", errs.CodeRequired, "tags must declare the tags the framework applies")
	}
	declared := map[string]bool{}
	for i, t := range c.Tags {
		at := fmt.Sprintf("tags[%d]", i)
		if requireText(&l, at+".name", t.Name) && declared[t.Name] {
			l.Add(at+".name", errs.CodeUnique, "tag %q is declared twice", t.Name)
		}
		declared[t.Name] = true
		requireText(&l, at+".source", t.Source)
		for j, s := range t.Sensitivities {
			sat := fmt.Sprintf("%s.sensitivities[%d]", at, j)
			if s.Dimension != DimensionConfidentiality {
				l.Add(sat+".dimension", errs.CodeEnum, "%s.dimension must be %q", sat, DimensionConfidentiality)
			}
			if s.Sensitivity < 0 || s.Sensitivity > MaxSensitivity {
				l.Add(sat+".sensitivity", errs.CodeEnum, "%s.sensitivity must be 0, 1 or 2", sat)
			}
		}
	}
	if len(c.Rules) == 0 {
		l.Add("rules", errs.CodeRequired, "rules must list at least one rule")
	}
	for i, r := range c.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		requireText(&l, at+".name", r.Name)
		if requireText(&l, at+".classificationTag.name", r.ClassificationTag.Name) && !declared[r.ClassificationTag.Name] {
			l.Add(at+".classificationTag.name", errs.CodeNotFound, "tag %q is not declared in tags", r.ClassificationTag.Name)
		}
		requireText(&l, at+".classificationTag.source", r.ClassificationTag.Source)
		for _, list := range []struct {
			field string
			refs  []TagRef
		}{{"columnTags", r.ColumnTags}, {"neighborColumnTags", r.NeighborColumnTags}, {"tableTags", r.TableTags}} {
			for j, ref := range list.refs {
				rat := fmt.Sprintf("%s.%s[%d]", at, list.field, j)
				requireText(&l, rat+".name", ref.Name)
				requireText(&l, rat+".source", ref.Source)
			}
		}
		if len(r.ColumnTags)+len(r.NeighborColumnTags)+len(r.TableTags) == 0 {
			l.Add(at, errs.CodeRequired, "%s needs columnTags, neighborColumnTags or tableTags", at)
		}
	}
	return l.Err()
}

// TaggedSource is what classification reads of a data source: its own tags
// and each column's tags.
type TaggedSource struct {
	Tags    []string
	Columns []TaggedColumn
}

// TaggedColumn is a column and its tags.
type TaggedColumn struct {
	Name string
	Tags []string
}

// Classify returns, for each column that gains any, the classification tags
// the framework's rules add (sorted), or nothing when it is inactive. Rules
// see the tags earlier rules added, until no rule adds more, so the result
// does not depend on rule order.
func (c Classification) Classify(src TaggedSource) map[string][]string {
	added := map[string][]string{}
	if !c.Active {
		return added
	}
	columns := make([][]string, len(src.Columns))
	for i, col := range src.Columns {
		columns[i] = slices.Clone(col.Tags)
	}
	for changed := true; changed; {
		changed = false
		for _, r := range c.Rules {
			if !allPresent(r.TableTags, func(name string) bool { return hasTag(src.Tags, name) }) ||
				!allPresent(r.NeighborColumnTags, func(name string) bool {
					return slices.ContainsFunc(columns, func(tags []string) bool { return hasTag(tags, name) })
				}) {
				continue
			}
			tag := r.ClassificationTag.Name
			for i, col := range src.Columns {
				if slices.Contains(columns[i], tag) || !allPresent(r.ColumnTags, func(name string) bool { return hasTag(columns[i], name) }) {
					continue
				}
				columns[i] = append(columns[i], tag)
				added[col.Name] = append(added[col.Name], tag)
				changed = true
			}
		}
	}
	for name, tags := range added {
		added[name] = sortedUnique(tags)
	}
	return added
}

func allPresent(refs []TagRef, present func(name string) bool) bool {
	for _, r := range refs {
		if !present(r.Name) {
			return false
		}
	}
	return true
}

// hasTag reports whether tags hold name or a descendant of it.
func hasTag(tags []string, name string) bool {
	for _, t := range tags {
		if t == name || strings.HasPrefix(t, name) && strings.HasPrefix(t[len(name):], ".") {
			return true
		}
	}
	return false
}

package sdd

import (
	"fmt"

	"github.com/custosdata/custos/internal/errs"
)

// Framework is an identification framework (the API calls it a template):
// the identifiers SDD runs on a data source, each with optional overrides.
// Its JSON form is the payload of POST /sdd/template (the service adds id,
// createdBy, createdAt, updatedAt to responses). One framework is the
// global framework, used for data sources that have none applied.
type Framework struct {
	Name        string                `json:"name"`
	DisplayName string                `json:"displayName"`
	Description string                `json:"description"`
	Classifiers []FrameworkIdentifier `json:"classifiers"`
}

// FrameworkIdentifier names an identifier of a framework.
type FrameworkIdentifier struct {
	Name      string    `json:"name"`
	Overrides Overrides `json:"overrides"`
}

// Overrides replace an identifier's defaults within one framework. Empty
// overrides encode as {}, as the API shows them.
type Overrides struct {
	// Tags replace the identifier's config.tags (conditional tags still apply).
	Tags []string `json:"tags,omitempty"`
	// MinConfidence replaces the identifier's config.minConfidence.
	MinConfidence *float64 `json:"minConfidence,omitempty"`
}

// DefaultFrameworkName names DefaultFramework.
const DefaultFrameworkName = "DEFAULT_FRAMEWORK"

// DefaultFramework runs every built-in identifier with its defaults; it is
// the global framework until an administrator sets another.
func DefaultFramework() Framework {
	f := Framework{
		Name:        DefaultFrameworkName,
		DisplayName: "Default Framework",
		Description: "Every built-in identifier with its default tags and confidence.",
	}
	for _, id := range BuiltIns() {
		f.Classifiers = append(f.Classifiers, FrameworkIdentifier{Name: id.Name})
	}
	return f
}

// ParseFramework decodes a JSON framework payload and validates it; known
// reports whether an identifier name exists (nil skips that check).
func ParseFramework(data []byte, known func(name string) bool) (Framework, error) {
	var f Framework
	if err := decodeJSON(data, &f); err != nil {
		return Framework{}, err
	}
	return f, f.Validate(known)
}

// Validate checks the framework as a create or update payload, reporting
// every problem at once as a 422 naming its field ("classifiers[2].name",
// "classifiers[0].overrides.tags[1]", ...). known reports whether an
// identifier exists; nil skips that check.
func (f Framework) Validate(known func(name string) bool) error {
	var l errs.List
	validateName(&l, "name", f.Name)
	requireText(&l, "displayName", f.DisplayName)
	requireText(&l, "description", f.Description)
	if len(f.Classifiers) == 0 {
		l.Add("classifiers", errs.CodeRequired, "classifiers must name at least one identifier")
	}
	seen := make(map[string]bool, len(f.Classifiers))
	for i, c := range f.Classifiers {
		at := fmt.Sprintf("classifiers[%d]", i)
		switch {
		case c.Name == "":
			l.Add(at+".name", errs.CodeRequired, "%s.name is required", at)
		case seen[c.Name]:
			l.Add(at+".name", errs.CodeUnique, "identifier %q is listed twice", c.Name)
		case known != nil && !known(c.Name):
			l.Add(at+".name", errs.CodeNotFound, "there is no identifier named %q", c.Name)
		}
		seen[c.Name] = true
		validateTags(&l, at+".overrides.tags", c.Overrides.Tags, false)
		if c.Overrides.MinConfidence != nil {
			validateConfidence(&l, at+".overrides.minConfidence", *c.Overrides.MinConfidence)
		}
	}
	return l.Err()
}

// Identifiers lists the names of the framework's identifiers, in order.
func (f Framework) Identifiers() []string {
	names := make([]string, len(f.Classifiers))
	for i, c := range f.Classifiers {
		names[i] = c.Name
	}
	return names
}

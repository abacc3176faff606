package sdd

import (
	"maps"
	"slices"
	"testing"
)

func TestTheDocumentedClassificationExample(t *testing.T) {
	c, err := ParseClassification([]byte(`{"active":true,"shortName":"HR Information","name":"HR Information Framework",
	 "description":"This framework finds internal employee information and tags it for HR.",
	 "tags":[{"name":"HR Framework.Internal Employee Data","source":"curated","sensitivities":[]}],
	 "rules":[{"name":"HR Rule 1","classificationTag":{"name":"HR Framework.Internal Employee Data","source":"curated"},
	   "columnTags":[],"neighborColumnTags":[{"name":"Employee Name","source":"curated"}],"tableTags":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	src := TaggedSource{Columns: []TaggedColumn{{Name: "id"}, {Name: "name", Tags: []string{"Employee Name"}}, {Name: "salary"}}}
	want := map[string][]string{
		"id": {"HR Framework.Internal Employee Data"}, "name": {"HR Framework.Internal Employee Data"}, "salary": {"HR Framework.Internal Employee Data"},
	}
	if got := c.Classify(src); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %v", got)
	}
	if got := c.Classify(TaggedSource{Columns: []TaggedColumn{{Name: "id"}}}); len(got) != 0 {
		t.Errorf("no neighbour tag, got %v", got)
	}
	c.Active = false
	if got := c.Classify(src); len(got) != 0 {
		t.Errorf("an inactive framework classified %v", got)
	}
}

func TestClassificationRules(t *testing.T) {
	curated := func(name string) TagRef { return TagRef{Name: name, Source: "curated"} }
	c := Classification{ShortName: "PCI", Name: "PCI", Description: "d", Active: true,
		Tags: []ClassificationTag{{Name: "PCI.Cardholder Data", Source: "curated"}, {Name: "PCI.In Scope", Source: "curated"}},
		Rules: []ClassificationRule{
			// Listed first, it relies on the tags the second rule adds.
			{Name: "scope", ClassificationTag: curated("PCI.In Scope"), NeighborColumnTags: []TagRef{curated("PCI.Cardholder Data")}, TableTags: []TagRef{curated("Payments")}},
			{Name: "cards", ClassificationTag: curated("PCI.Cardholder Data"), ColumnTags: []TagRef{curated("Discovered.Entity")}},
		}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	src := TaggedSource{Tags: []string{"Payments.EU"}, Columns: []TaggedColumn{
		{Name: "pan", Tags: []string{TagCreditCard}},
		{Name: "amount"},
	}}
	want := map[string][]string{"pan": {"PCI.Cardholder Data", "PCI.In Scope"}, "amount": {"PCI.In Scope"}}
	if got := c.Classify(src); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %v, want %v", got, want)
	}
	src.Tags = []string{"Paymentsandmore"} // not a descendant of Payments
	want = map[string][]string{"pan": {"PCI.Cardholder Data"}}
	if got := c.Classify(src); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestClassificationValidation(t *testing.T) {
	c := Classification{Tags: []ClassificationTag{
		{Name: "A", Source: "curated", Sensitivities: []Sensitivity{{Dimension: "integrity", Sensitivity: 3}}},
		{Name: "A", Source: ""},
	}, Rules: []ClassificationRule{
		{Name: "r", ClassificationTag: TagRef{Name: "B", Source: "curated"}},
		{Name: "s", ClassificationTag: TagRef{Name: "A", Source: "curated"}, TableTags: []TagRef{{Name: "T"}}},
	}}
	want := []string{"shortName:required", "name:required", "description:required",
		"tags[0].sensitivities[0].dimension:enum", "tags[0].sensitivities[0].sensitivity:enum",
		"tags[1].name:unique", "tags[1].source:required",
		"rules[0].classificationTag.name:notFound", "rules[0]:required", "rules[1].tableTags[0].source:required"}
	if got := fieldsOf(t, c.Validate()); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

package policy

import (
	"os"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/errs"
	"sigs.k8s.io/yaml"
)

func TestInvalidPayloads(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string   `json:"name"`
		Payload string   `json:"payload"`
		Fields  []string `json:"fields"`
		Status  int      `json:"status"`
	}
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p, err := DecodeV2([]byte(c.Payload))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			e := errs.As(err)
			want := c.Status
			if want == 0 {
				want = 422
			}
			if e.Status() != want {
				t.Fatalf("status %d (%v), want %d", e.Status(), err, want)
			}
			got := map[string]bool{}
			for _, f := range e.Fields {
				got[f.Field] = true
				if f.Message == "" || f.Code == "" {
					t.Errorf("field error without code or message: %+v", f)
				}
			}
			for _, f := range c.Fields {
				if !got[f] {
					t.Errorf("no error for %q; got %v", f, fieldList(e.Fields))
				}
			}
			if len(c.Fields) > 0 && len(e.Fields) != len(c.Fields) {
				t.Errorf("got %d errors %v, want %d", len(e.Fields), fieldList(e.Fields), len(c.Fields))
			}
		})
	}
}

func fieldList(fs []errs.FieldError) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Field+" ("+f.Message+")")
	}
	return strings.Join(out, "; ")
}

// V1 conditions combine with "and" or "or"; another operator is refused
// rather than read as "or", which would except users who meet only one
// condition.
func TestV1ConditionOperators(t *testing.T) {
	doc := func(op string) []byte {
		return []byte(`{"name": "Mask", "type": "data", "actions": [{"rules": [{"type": "masking",
			"config": {"fields": [{"type": "columnTags", "columnTag": "PII"}], "maskingConfig": {"type": "Consistent Value"}},
			"exceptions": {"operator": "` + op + `", "conditions": [
				{"type": "groups", "group": {"name": "HR"}}, {"type": "groups", "group": {"name": "Payroll"}}]}}]}]}`)
	}
	for op, want := range map[string]Operator{"and": OpAll, "AND": OpAll, "or": OpAny, "": OpAny, "all": OpAll, "any": OpAny} {
		p, err := DecodeV1(doc(op))
		if err != nil {
			t.Fatalf("operator %q: %v", op, err)
		}
		if got := p.Data[0].Rules[0].Exceptions.Operator; got != want {
			t.Errorf("operator %q read as %q, want %q", op, got, want)
		}
	}
	_, err := DecodeV1(doc("nand"))
	if err == nil {
		t.Fatal("operator nand accepted")
	}
	e := errs.As(err)
	if e.Status() != 422 || len(e.Fields) != 1 || e.Fields[0].Field != "actions[0].rules[0].exceptions.operator" {
		t.Fatalf("operator nand: %v %s", e.Status(), fieldList(e.Fields))
	}
}

package api

import (
	"encoding/json"
	"testing"

	"github.com/custosdata/custos/internal/errs"
)

// FuzzProjectPayloads feeds arbitrary JSON to the readers of project
// payloads: they accept it or answer a 422, and never panic.
func FuzzProjectPayloads(f *testing.F) {
	for _, s := range []string{`[1, "Use Purposes", {"id": 2}, {"name": "x"}]`, `null`, `true`, `{}`, `{"setNone": true}`,
		`{"conditions": {"operator": "and", "conditions": [{"type": "groups", "group": {"name": "G"}}]}}`,
		`{"groups": ["a"], "attributes": {"n": ["v"]}}`, `["subscribed"]`, `"owner"`, `[{"name": 3}]`} {
		f.Add(s)
	}
	check := func(t *testing.T, raw string, err error) {
		if err != nil && !errs.Is(err, errs.Invalid) {
			t.Fatalf("%q: %v, want a 422", raw, err)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return // the body decoder refuses it first (400)
		}
		msg := json.RawMessage(raw)
		_, err := refsOf(msg, "purposes")
		check(t, raw, err)
		_, err = tagNamesOf(msg)
		check(t, raw, err)
		_, err = equalizationInput(msg)
		check(t, raw, err)
		_, err = stateOf(msg)
		check(t, raw, err)
		b := projectBody{Purposes: msg, Tags: msg, Equalization: msg, SubscriptionPolicy: msg, DataSources: msg}
		_, err = b.input()
		check(t, raw, err)
	})
}

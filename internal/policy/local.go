package policy

import (
	"github.com/custosdata/custos/internal/errs"
)

// LocalPolicy is a data source's own policy (its policy handler): data rules
// that name columns directly, and optionally the data source's subscription
// policy. Local rules are combined with the global policies that apply to the
// data source; see Plan.
type LocalPolicy struct {
	Data         []DataAction
	Subscription *SubscriptionAction
}

// DecodeLocalV1 reads the jsonPolicies of a V1 policy handler: either the
// handler object {"jsonPolicies": [...]} or the bare array. Entries carrying
// a "global" object are global policies as applied to the data source and
// are skipped; an entry of type "subscription" is the subscription policy.
func DecodeLocalV1(data []byte) (*LocalPolicy, error) {
	tree, isYAML, err := decodeAny(data)
	if err != nil {
		return nil, err
	}
	r := &reader{yaml: isYAML}
	path := "jsonPolicies"
	if m, ok := tree.(map[string]any); ok {
		tree = m["jsonPolicies"]
		if tree == nil {
			return nil, errs.Field("jsonPolicies", errs.CodeRequired, "jsonPolicies is required")
		}
	}
	items, ok := tree.([]any)
	if !ok {
		return nil, errs.Field(path, errs.CodeType, "jsonPolicies must be an array")
	}
	lp := &LocalPolicy{}
	var paths []string
	for i, v := range items {
		o, ok := r.object(v, index(path, i))
		if !ok || o.present("global") {
			continue
		}
		if lowerEnum(r.str(o, "type")) == "subscription" {
			lp.Subscription = r.subscription(o, true)
			continue
		}
		lp.Data = append(lp.Data, r.dataActionV1(o, true))
		paths = append(paths, index(path, i))
	}
	if len(r.errs) > 0 {
		return nil, r.errs.Err()
	}
	return lp, lp.validate(paths)
}

// Validate checks a local policy as Policy.Validate does a global one.
func (lp *LocalPolicy) Validate() error { return lp.validate(nil) }

func (lp *LocalPolicy) validate(paths []string) error {
	var l errs.List
	validateData(&l, func(i int) string {
		if i < len(paths) {
			return paths[i]
		}
		return index("actions", i)
	}, lp.Data, true)
	if lp.Subscription != nil {
		validateSubscription(&l, "subscription", lp.Subscription)
	}
	return l.Err()
}

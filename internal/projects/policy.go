package projects

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
)

// SubscriptionPolicy says who may join a project, in the V2 shape: anyone,
// approval (with the approvals it needs), entitlements (groups and
// attributes) or manual (owners add members). A nil policy is manual.
type SubscriptionPolicy struct {
	Type                  policy.SubscriptionType `json:"type"`
	AutomaticSubscription bool                    `json:"automaticSubscription"`
	AllowDiscovery        bool                    `json:"allowDiscovery"`
	Description           string                  `json:"description,omitempty"`
	Approvals             []policy.Approval       `json:"approvals,omitempty"`
	Entitlements          *Condition              `json:"entitlements,omitempty"`
}

// Condition is the entitlements an entitlements policy requires.
type Condition struct {
	Operator   string             `json:"operator"` // any (default) or all
	Groups     []string           `json:"groups,omitempty"`
	Attributes []policy.Attribute `json:"attributes,omitempty"`
}

// cond is the condition over the user.
func (c *Condition) cond() policy.Cond {
	if c == nil {
		return nil
	}
	pc := policy.Condition{Operator: policy.OpAny, Groups: c.Groups, Attributes: c.Attributes}
	if c.Operator == string(policy.OpAll) {
		pc.Operator = policy.OpAll
	}
	return pc.Cond()
}

// typeOf is the policy's type; nil is manual.
func (sp *SubscriptionPolicy) typeOf() policy.SubscriptionType {
	if sp == nil {
		return policy.SubManual
	}
	return sp.Type
}

// decide says how a user with these entitlements may join.
func (sp *SubscriptionPolicy) decide(ent *policy.Entitlements) policy.SubscribeStatus {
	switch sp.typeOf() {
	case policy.SubManual:
		return policy.StatusManual
	case policy.SubApproval:
		return policy.StatusApproval
	case policy.SubEntitlements:
		if ent == nil || !ent.Qualifies(sp.Entitlements.cond()) {
			return policy.StatusDenied
		}
	}
	if sp.AutomaticSubscription {
		return policy.StatusAutomatic
	}
	return policy.StatusAllowed
}

// automatic reports whether users the policy admits are members without
// asking.
func (sp *SubscriptionPolicy) automatic() bool {
	t := sp.typeOf()
	return sp != nil && sp.AutomaticSubscription && (t == policy.SubAnyone || t == policy.SubEntitlements)
}

// v1Types are the V1 names of the subscription types.
var v1Types = map[policy.SubscriptionType]string{policy.SubAnyone: "automatic", policy.SubApproval: "approval",
	policy.SubEntitlements: "policy", policy.SubManual: "manual"}

// V1Type is the V1 subscriptionType of the policy.
func (sp *SubscriptionPolicy) V1Type() string { return v1Types[sp.typeOf()] }

// v2Input is a V2 subscriptionPolicy as posted.
type v2Input struct {
	Type                  string            `json:"type"`
	AutomaticSubscription bool              `json:"automaticSubscription"`
	AllowDiscovery        bool              `json:"allowDiscovery"`
	Description           string            `json:"description"`
	Approvals             []policy.Approval `json:"approvals"`
	Entitlements          *struct {
		Operator   string             `json:"operator"`
		Groups     []string           `json:"groups"`
		Attributes []policy.Attribute `json:"attributes"`
	} `json:"entitlements"`
}

// ParseV2Policy reads a V2 subscriptionPolicy; field names the payload
// field in errors. Groups are checked against the store later.
func ParseV2Policy(raw json.RawMessage, field string) (*SubscriptionPolicy, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var in v2Input
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, errs.Field(field, errs.CodeType, "%s must be an object with type and, by type, approvals or entitlements", field)
	}
	sp := &SubscriptionPolicy{Type: policy.SubscriptionType(strings.ToLower(strings.TrimSpace(in.Type))),
		AutomaticSubscription: in.AutomaticSubscription, AllowDiscovery: in.AllowDiscovery, Description: in.Description,
		Approvals: in.Approvals}
	if in.Entitlements != nil {
		sp.Entitlements = &Condition{Operator: strings.ToLower(strings.TrimSpace(in.Entitlements.Operator)),
			Groups: in.Entitlements.Groups, Attributes: in.Entitlements.Attributes}
	}
	if err := sp.validate(field); err != nil {
		return nil, err
	}
	if sp.Type == policy.SubManual {
		return nil, nil // manual is the default: no policy
	}
	return sp, nil
}

// v1Input is a V1 subscriptionPolicy object.
type v1Input struct {
	Type                  string            `json:"type"`
	SubscriptionType      string            `json:"subscriptionType"`
	AutomaticSubscription bool              `json:"automaticSubscription"`
	AllowDiscovery        bool              `json:"allowDiscovery"`
	ShareResponsibility   bool              `json:"shareResponsibility"`
	Description           string            `json:"description"`
	Approvals             []policy.Approval `json:"approvals"`
	Exceptions            *struct {
		Operator   string            `json:"operator"`
		Conditions []json.RawMessage `json:"conditions"`
	} `json:"exceptions"`
}

// v1Condition is one V1 condition: a group or an attribute.
type v1Condition struct {
	Type  string `json:"type"`
	Group *struct {
		Name string `json:"name"`
	} `json:"group"`
	Authorization *struct {
		Auth  string `json:"auth"`
		Value string `json:"value"`
	} `json:"authorization"`
}

// ParseV1Policy reads the V1 pair subscriptionType and subscriptionPolicy
// (its exceptions are the entitlements; and = all, or = any). A
// subscriptionPolicy may also carry its own subscriptionType.
func ParseV1Policy(subscriptionType string, raw json.RawMessage) (*SubscriptionPolicy, error) {
	var in v1Input
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, errs.Field("subscriptionPolicy", errs.CodeType, "subscriptionPolicy must be an object")
		}
	}
	t := strings.ToLower(strings.TrimSpace(subscriptionType))
	if t == "" {
		t = strings.ToLower(strings.TrimSpace(in.SubscriptionType))
	}
	if t == "" && in.Exceptions == nil && len(in.Approvals) == 0 {
		if len(raw) == 0 || string(raw) == "null" {
			return nil, nil
		}
		t = "automatic"
	}
	var typ policy.SubscriptionType
	for k, v := range v1Types {
		if v == t || string(k) == t {
			typ = k
		}
	}
	if typ == "" {
		return nil, errs.Field("subscriptionType", errs.CodeEnum, "subscriptionType must be automatic, approval, policy or manual, not %q", subscriptionType)
	}
	if typ == policy.SubManual {
		return nil, nil
	}
	sp := &SubscriptionPolicy{Type: typ, AutomaticSubscription: in.AutomaticSubscription, AllowDiscovery: in.AllowDiscovery,
		Description: in.Description, Approvals: in.Approvals}
	if in.Exceptions != nil {
		c := &Condition{Operator: string(policy.OpAny)}
		switch strings.ToLower(strings.TrimSpace(in.Exceptions.Operator)) {
		case "and", "all":
			c.Operator = string(policy.OpAll)
		case "or", "any", "":
		default:
			return nil, errs.Field("subscriptionPolicy.exceptions.operator", errs.CodeEnum,
				"subscriptionPolicy.exceptions.operator must be and or or, not %q", in.Exceptions.Operator)
		}
		for i, rc := range in.Exceptions.Conditions {
			var vc v1Condition
			f := fmt.Sprintf("subscriptionPolicy.exceptions.conditions[%d]", i)
			if err := json.Unmarshal(rc, &vc); err != nil {
				return nil, errs.Field(f, errs.CodeType, "%s must be an object", f)
			}
			switch {
			case vc.Group != nil:
				c.Groups = append(c.Groups, vc.Group.Name)
			case vc.Authorization != nil:
				c.Attributes = append(c.Attributes, policy.Attribute{Name: vc.Authorization.Auth, Value: vc.Authorization.Value})
			default:
				return nil, errs.Field(f, errs.CodeInvalid, "%s must be a groups condition ({group: {name}}) or an authorizations one ({authorization: {auth, value}})", f)
			}
		}
		sp.Entitlements = c
	}
	if err := sp.validate("subscriptionPolicy"); err != nil {
		return nil, err
	}
	return sp, nil
}

// validate checks the policy's shape.
func (sp *SubscriptionPolicy) validate(field string) error {
	var l errs.List
	switch sp.Type {
	case policy.SubAnyone, policy.SubManual:
	case policy.SubApproval:
		if len(sp.Approvals) == 0 {
			l.Add(field+".approvals", errs.CodeRequired, "%s.approvals: an approval policy needs at least one approval", field)
		}
	case policy.SubEntitlements:
		c := sp.Entitlements
		if c == nil || (len(c.Groups) == 0 && len(c.Attributes) == 0) {
			l.Add(field+".entitlements", errs.CodeRequired, "%s.entitlements: an entitlements policy needs groups or attributes", field)
		}
	case "":
		l.Add(field+".type", errs.CodeRequired, "%s.type is required: anyone, approval, entitlements or manual", field)
	default:
		l.Add(field+".type", errs.CodeEnum, "%s.type must be anyone, approval, entitlements or manual, not %q", field, sp.Type)
	}
	if sp.Type != policy.SubApproval && len(sp.Approvals) > 0 {
		l.Add(field+".approvals", errs.CodeInvalid, "%s.approvals: only approval policies take approvals", field)
	}
	if sp.Type != policy.SubEntitlements && sp.Entitlements != nil {
		l.Add(field+".entitlements", errs.CodeInvalid, "%s.entitlements: only entitlements policies take entitlements", field)
	}
	if sp.Type == policy.SubApproval && sp.AutomaticSubscription {
		l.Add(field+".automaticSubscription", errs.CodeInvalid, "%s.automaticSubscription: an approval policy cannot subscribe users automatically", field)
	}
	if c := sp.Entitlements; c != nil {
		switch c.Operator {
		case "":
			c.Operator = string(policy.OpAny)
		case string(policy.OpAny), string(policy.OpAll):
		default:
			l.Add(field+".entitlements.operator", errs.CodeEnum, "%s.entitlements.operator must be any or all, not %q", field, c.Operator)
		}
		for i, g := range c.Groups {
			if strings.TrimSpace(g) == "" {
				l.Add(fmt.Sprintf("%s.entitlements.groups[%d]", field, i), errs.CodeRequired, "%s.entitlements.groups[%d] is empty", field, i)
			}
		}
		for i, a := range c.Attributes {
			if strings.TrimSpace(a.Name) == "" || a.Value == "" {
				l.Add(fmt.Sprintf("%s.entitlements.attributes[%d]", field, i), errs.CodeRequired,
					"%s.entitlements.attributes[%d] needs a name and a value", field, i)
			}
		}
	}
	for i := range sp.Approvals {
		a := &sp.Approvals[i]
		a.RequiredPermission = strings.ToUpper(strings.TrimSpace(a.RequiredPermission))
		f := fmt.Sprintf("%s.approvals[%d].requiredPermission", field, i)
		if a.RequiredPermission != "OWNER" && !auth.ValidPermission(a.RequiredPermission) {
			l.Add(f, errs.CodeEnum, "%s must be OWNER or a permission (%s), not %q", f, strings.Join(auth.AllPermissions, ", "), a.RequiredPermission)
		}
	}
	return l.Err()
}

// groupsNamed lists the groups a policy names, sorted, for checking.
func (sp *SubscriptionPolicy) groupsNamed() []string {
	if sp == nil || sp.Entitlements == nil {
		return nil
	}
	out := append([]string(nil), sp.Entitlements.Groups...)
	sort.Strings(out)
	return out
}

// V1Object is the policy as the V1 subscriptionPolicy object (nil for
// manual): exceptions hold the entitlements.
func (sp *SubscriptionPolicy) V1Object() map[string]any {
	if sp == nil || sp.Type == policy.SubManual {
		return nil
	}
	out := map[string]any{"type": "subscription", "subscriptionType": sp.V1Type(),
		"automaticSubscription": sp.AutomaticSubscription, "allowDiscovery": sp.AllowDiscovery, "shareResponsibility": false}
	if sp.Description != "" {
		out["description"] = sp.Description
	}
	if len(sp.Approvals) > 0 {
		out["approvals"] = sp.Approvals
	}
	if c := sp.Entitlements; c != nil {
		op := "or"
		if c.Operator == string(policy.OpAll) {
			op = "and"
		}
		conds := []map[string]any{}
		for _, g := range c.Groups {
			conds = append(conds, map[string]any{"type": "groups", "group": map[string]any{"name": g}})
		}
		for _, a := range c.Attributes {
			conds = append(conds, map[string]any{"type": "authorizations", "authorization": map[string]any{"auth": a.Name, "value": a.Value}})
		}
		out["exceptions"] = map[string]any{"operator": op, "conditions": conds}
	}
	return out
}

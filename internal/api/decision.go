package api

import (
	"encoding/json"
	"github.com/custosdata/custos/internal/enforce"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/policy"
)

// maskedJSON is one masked column of the V1 decision reports.
type maskedJSON struct {
	Type       string         `json:"type" doc:"the V1 masking type: Consistent Value for hashing, null and constants; otherwise the V2 name"`
	Metadata   map[string]any `json:"metadata"`
	Name       string         `json:"name" doc:"the column"`
	ActionType string         `json:"actionType" doc:"Hash, Nullify, Replace, Regex, Round, FormatPreserve, Reverse, RandomizedResponse or KAnonymize"`
	Condition  *string        `json:"condition,omitempty" doc:"custos addition: the mask holds only on rows where this holds"`
}

var actionTypes = map[policy.MaskingType]string{
	policy.MaskHash: "Hash", policy.MaskNull: "Nullify", policy.MaskConstant: "Replace", policy.MaskRegex: "Regex",
	policy.MaskGrouping: "Round", policy.MaskFormatPreserving: "FormatPreserve", policy.MaskReversible: "Reverse",
	policy.MaskRandomized: "RandomizedResponse", policy.MaskKAnonymization: "KAnonymize",
}

// maskedOf renders a masking function in the V1 shape.
func maskedOf(column string, m *policy.Masking, rows string) maskedJSON {
	out := maskedJSON{Name: column, Metadata: map[string]any{}, ActionType: actionTypes[m.Type]}
	switch m.Type {
	case policy.MaskHash:
		out.Type = "Consistent Value"
	case policy.MaskNull:
		out.Type, out.Metadata["constant"] = "Consistent Value", nil
	case policy.MaskConstant:
		out.Type, out.Metadata["constant"] = "Consistent Value", m.Constant
	default:
		out.Type = string(m.Type)
		b, _ := json.Marshal(m)
		_ = json.Unmarshal(b, &out.Metadata)
		delete(out.Metadata, "type")
	}
	if rows != "" {
		out.Condition = &rows
	}
	return out
}

func maskedList(d *policy.Decision) []maskedJSON {
	out := []maskedJSON{}
	for _, c := range d.Columns {
		rows := ""
		if c.Rows != nil {
			rows = c.Rows.String()
		}
		out = append(out, maskedOf(c.Column, c.Masking, rows))
	}
	return out
}

// additionalFiltersJSON are the row filters that are not visibilities.
type additionalFiltersJSON struct {
	CustomWhere     *string       `json:"customWhere" doc:"the custom WHERE filters bound to the user, joined with AND"`
	EventTimeColumn *string       `json:"eventTimeColumn"`
	Minimization    *minimizeJSON `json:"minimization"`
	Time            *int64        `json:"time" doc:"seconds of a time restriction"`
	FilterSeconds   *int64        `json:"filterSeconds"`
	IsOlderOrNewer  *string       `json:"isOlderOrNewer"`
	NoRows          bool          `json:"noRows" doc:"custos addition: a rule hides every row from the user"`
}

type minimizeJSON struct {
	Percent int      `json:"percent"`
	Columns []string `json:"columns" doc:"the columns hashed to choose rows; empty: the whole row"`
}

func filtersOf(d *policy.Decision) additionalFiltersJSON {
	out := additionalFiltersJSON{NoRows: d.NoRows}
	var where []string
	for _, r := range d.Rows {
		switch {
		case r.Kind == policy.RowWhere && r.Where != nil:
			where = append(where, "("+r.Where.String()+")")
		case r.Time != nil:
			col, secs, dir := r.Time.Column, r.Time.Seconds, "older"
			if r.Time.Newer {
				dir = "newer"
			}
			out.EventTimeColumn, out.Time, out.FilterSeconds, out.IsOlderOrNewer = &col, &secs, &secs, &dir
		case r.Minimize != nil:
			out.Minimization = &minimizeJSON{Percent: r.Minimize.Percent, Columns: nonNil(r.Minimize.Columns)}
		}
	}
	if len(where) > 0 {
		w := strings.Join(where, " AND ")
		out.CustomWhere = &w
	}
	return out
}

type policyInfoJSON struct {
	Visibilities          []string              `json:"visibilities" doc:"the values that let the user see rows under row rules over their entitlements"`
	VisibilityRuleApplies bool                  `json:"visibilityRuleApplies"`
	Masked                []maskedJSON          `json:"masked"`
	AdditionalFilters     additionalFiltersJSON `json:"additionalFilters"`
}

type visibilityReportJSON struct {
	NoVisibilities        bool                  `json:"noVisibilities" doc:"no row rule over entitlements or purposes applies to the data source"`
	UserVisibilitiesCount int                   `json:"userVisibilitiesCount"`
	DenialReason          *string               `json:"denialReason,omitempty"`
	Masked                []maskedJSON          `json:"masked"`
	DataSource            int64                 `json:"dataSource"`
	DataSourceName        string                `json:"dataSourceName"`
	AdditionalFilters     additionalFiltersJSON `json:"additionalFilters"`
	AllowMaskedJoins      bool                  `json:"allowMaskedJoins"`
	PolicySet             string                `json:"policySet" doc:"the policies in force as a JSON string of jsonPolicies entries, each rule with ruleAppliedForUser"`
}

type decisionQuery struct {
	ProjectID *int64 `query:"projectId" doc:"evaluate as if the user acted under this project's purposes"`
}

type visibilityQuery struct {
	InformationOnly      bool `query:"informationOnly" doc:"accepted; custos never queries the data for a report"`
	IncludeNestedColumns bool `query:"includeNestedColumns" doc:"accepted; custos has no nested columns"`
}

type unmaskUserJSON struct {
	Name      string `json:"name"`
	ProfileID int64  `json:"profileId"`
	IAMID     string `json:"iamid"`
}

// The effective plan of one user: custos's own decision endpoint.

type policyRefJSON struct {
	ID        int64  `json:"id" doc:"the global policy id, or the data source id for its own policy"`
	PolicyKey string `json:"policyKey,omitempty"`
	Name      string `json:"name,omitempty"`
	Local     bool   `json:"local" doc:"the data source's own policy"`
	Action    *int   `json:"action,omitempty" doc:"index into the policy's actions"`
	Rule      *int   `json:"rule,omitempty" doc:"index into the action's rules"`
}

func ruleRefOf(r *policy.RuleRef) *policyRefJSON {
	if r == nil {
		return nil
	}
	a, n := r.Action, r.Rule
	return &policyRefJSON{ID: r.Policy.ID, PolicyKey: r.Policy.Key, Name: r.Policy.Name, Local: r.Policy.Local, Action: &a, Rule: &n}
}

type accessJSON struct {
	Status       policy.SubscribeStatus `json:"status" doc:"automatic, allowed, approval, manual, denied or none"`
	Approvals    []policy.Approval      `json:"approvals,omitempty"`
	Discoverable bool                   `json:"discoverable"`
}

type maskingJSON struct {
	Type policy.MaskingType `json:"type"`
	// Parameters of the masking function, as in the V2 maskingConfig.
	Params map[string]any `json:"parameters"`
}

type columnDecisionJSON struct {
	Column    string              `json:"column"`
	Masking   maskingJSON         `json:"masking"`
	Rows      *string             `json:"rows" doc:"the mask holds only where this holds; null: on every row"`
	Otherwise *columnDecisionJSON `json:"otherwise,omitempty" doc:"the mask of the other rows"`
	Policy    *policyRefJSON      `json:"policy"`
	Closed    string              `json:"closed,omitempty" doc:"why the rule cannot apply as written here; masking then shows what it does instead (Null)"`
}

type rowDecisionJSON struct {
	Kind     policy.RowKind         `json:"kind" doc:"where, entitlements, purpose, time or minimization"`
	Where    *string                `json:"where,omitempty" doc:"the row predicate, bound to the user"`
	Time     *policy.TimeFilter     `json:"time,omitempty"`
	Minimize *policy.MinimizeFilter `json:"minimize,omitempty"`
	Effect   string                 `json:"effect" doc:"the filter in words"`
	Policy   *policyRefJSON         `json:"policy"`
	Closed   string                 `json:"closed,omitempty" doc:"why the rule cannot apply as written here; it hides every row instead"`
}

// closedRuleJSON is a rule of the data source enforced closed.
type closedRuleJSON struct {
	Policy *policyRefJSON `json:"policy"`
	Column string         `json:"column,omitempty" doc:"the column masked to NULL; absent: the rule hides every row"`
	Reason string         `json:"reason"`
}

type subscriptionStateJSON struct {
	ID                     int64      `json:"id"`
	State                  string     `json:"state"`
	AccessGrant            string     `json:"accessGrant"`
	Expiration             *time.Time `json:"expiration"`
	IsSubscriptionOverride bool       `json:"isSubscriptionOverride"`
}

type entitlementsJSON struct {
	Groups     []string            `json:"groups"`
	Attributes map[string][]string `json:"attributes"`
	Purposes   []string            `json:"purposes"`
	// Own holds the user's own groups and attributes while an equalized
	// project limits Groups and Attributes: restrictions they bring still
	// apply.
	Own *policy.Own `json:"own,omitempty" doc:"the user's own groups and attributes while an equalized project limits them (restrictions they bring still apply); absent otherwise"`
}

// actingUnderJSON is the project a decision evaluates the user under.
type actingUnderJSON struct {
	ProjectID int64 `json:"projectId"`
	// Equalized: the user's groups and attributes are kept to those the
	// project's equalized entitlements list.
	Equalized bool `json:"equalized"`
}

// effectivePlanJSON is what the policies decide for one user on one data
// source, with the policy behind every part.
type effectivePlanJSON struct {
	DataSourceID   int64                  `json:"dataSourceId"`
	DataSourceName string                 `json:"dataSourceName"`
	ProfileID      int64                  `json:"profileId"`
	UserID         string                 `json:"userid"`
	Enabled        bool                   `json:"enabled"`
	Entitlements   entitlementsJSON       `json:"entitlements"`
	ActingUnder    *actingUnderJSON       `json:"actingUnder" doc:"the project the user acts under in this decision, or null"`
	Grant          *string                `json:"grant" doc:"what the user holds now (READ, WRITE) or null"`
	GrantByPolicy  *string                `json:"grantByPolicy" doc:"the grant policies give the user without an approval or an owner's choice (automatically or on request), or null"`
	CanRead        bool                   `json:"canRead"`
	CanWrite       bool                   `json:"canWrite"`
	Subscription   *subscriptionStateJSON `json:"subscription" doc:"the user's own subscription, if any"`
	Read           accessJSON             `json:"read" doc:"how the user may get READ by policy"`
	Write          accessJSON             `json:"write" doc:"how the user may get WRITE by policy"`
	Columns        []columnDecisionJSON   `json:"columns" doc:"the masked columns, in column order"`
	Rows           []rowDecisionJSON      `json:"rows" doc:"the row filters; a row shows when it passes every one"`
	NoRows         bool                   `json:"noRows" doc:"a rule hides every row from the user"`
	Policies       []policyRefJSON        `json:"policies" doc:"the policies that affected the user, in precedence order"`
	ClosedRules    []closedRuleJSON       `json:"closedRules" doc:"rules of the data source that cannot apply as written and are enforced closed for the users they apply to (no rows, or the column NULL)"`
	SkippedRules   []closedRuleJSON       `json:"skippedRules" doc:"rules of applying policies that are not about this data source (a tag no column carries, no event-time column), and why; they decide nothing here"`
	SQL            *enforce.Preview       `json:"sql,omitempty" doc:"the PostgreSQL the data source's plan renders to (one view and row filter serve every user); absent for other technologies"`
}

func columnDecisionOf(c *policy.ColumnDecision) columnDecisionJSON {
	out := columnDecisionJSON{Column: c.Column, Policy: ruleRefOf(c.Source), Closed: c.Closed}
	out.Masking.Type = c.Masking.Type
	b, _ := json.Marshal(c.Masking)
	_ = json.Unmarshal(b, &out.Masking.Params)
	delete(out.Masking.Params, "type")
	if c.Rows != nil {
		s := c.Rows.String()
		out.Rows = &s
	}
	if c.Otherwise != nil {
		o := columnDecisionOf(c.Otherwise)
		out.Otherwise = &o
	}
	return out
}

func effectivePlanOf(d *governance.UserDecision) effectivePlanJSON {
	dec := d.Decision
	out := effectivePlanJSON{DataSourceID: d.DataSourceID, DataSourceName: d.DataSourceName, ProfileID: d.ProfileID,
		UserID: d.User.Username, Enabled: d.Enabled, CanRead: d.Grant != "", CanWrite: d.Grant == "WRITE",
		Entitlements: entitlementsJSON{Groups: nonNil(d.User.Groups), Attributes: d.User.Attributes,
			Purposes: nonNil(d.User.Purposes), Own: d.User.Own},
		Read:    accessJSON{Status: dec.Read.Status, Approvals: dec.Read.Approvals, Discoverable: dec.Read.Discoverable},
		Write:   accessJSON{Status: dec.Write.Status, Approvals: dec.Write.Approvals, Discoverable: dec.Write.Discoverable},
		Columns: []columnDecisionJSON{}, Rows: []rowDecisionJSON{}, NoRows: dec.NoRows, Policies: []policyRefJSON{},
		ClosedRules: []closedRuleJSON{}, SkippedRules: []closedRuleJSON{}}
	for _, c := range d.Plan.ClosedRules() {
		out.ClosedRules = append(out.ClosedRules, closedRuleJSON{Policy: ruleRefOf(c.Source), Column: c.Column, Reason: c.Reason})
	}
	for _, k := range d.Plan.Skipped {
		if !k.Closed {
			out.SkippedRules = append(out.SkippedRules, closedRuleJSON{Policy: ruleRefOf(k.Source), Reason: k.Reason})
		}
	}
	if out.Entitlements.Attributes == nil {
		out.Entitlements.Attributes = map[string][]string{}
	}
	if a := d.Acting; a.ProjectID != nil {
		out.ActingUnder = &actingUnderJSON{ProjectID: *a.ProjectID, Equalized: a.Limit != nil}
	}
	if d.Grant != "" {
		g := d.Grant
		out.Grant = &g
	}
	if dec.Grant != "" {
		g := string(dec.Grant)
		out.GrantByPolicy = &g
	}
	if e := d.Subscription; e != nil {
		out.Subscription = &subscriptionStateJSON{ID: e.ID, State: e.State, AccessGrant: e.AccessGrant,
			Expiration: e.Expiration, IsSubscriptionOverride: e.Override}
	}
	for i := range dec.Columns {
		out.Columns = append(out.Columns, columnDecisionOf(&dec.Columns[i]))
	}
	for _, r := range dec.Rows {
		rd := rowDecisionJSON{Kind: r.Kind, Time: r.Time, Minimize: r.Minimize, Effect: governance.RowEffect(r),
			Policy: ruleRefOf(r.Source), Closed: r.Closed}
		if r.Where != nil {
			w := r.Where.String()
			rd.Where = &w
		}
		out.Rows = append(out.Rows, rd)
	}
	for _, p := range dec.Policies {
		out.Policies = append(out.Policies, policyRefJSON{ID: p.ID, PolicyKey: p.Key, Name: p.Name, Local: p.Local})
	}
	return out
}

func (s *Server) visibilityReport(r *Request, gov *governance.Service, d *governance.UserDecision) (visibilityReportJSON, error) {
	set, err := gov.PolicySet(r.Context(), d)
	if err != nil {
		return visibilityReportJSON{}, err
	}
	b, _ := json.Marshal(set)
	noVis := true
	for _, rr := range d.Plan.Rows {
		if rr.Kind == policy.RowEntitlements || rr.Kind == policy.RowPurpose {
			noVis = false
		}
	}
	return visibilityReportJSON{NoVisibilities: noVis, UserVisibilitiesCount: len(d.Visibilities()),
		Masked: maskedList(d.Decision), DataSource: d.DataSourceID, DataSourceName: d.DataSourceName,
		AdditionalFilters: filtersOf(d.Decision), PolicySet: string(b)}, nil
}

// denialReason says why a user cannot query a data source, or nil.
func denialReason(d *governance.UserDecision) *string {
	if d.Grant != "" {
		return nil
	}
	var why string
	switch {
	case !d.Enabled:
		why = "the user is disabled"
	case d.Decision.Read.Status == policy.StatusDenied:
		why = "the user does not meet the data source's subscription policy"
	case d.Decision.Read.Status == policy.StatusManual:
		why = "only the data source's owners can grant access, individually"
	case d.Decision.Read.Status == policy.StatusApproval:
		why = "access needs an approved request"
	case d.Decision.Read.Status == policy.StatusAllowed:
		why = "the user may subscribe but has not"
	default:
		why = "no subscription policy or grant gives the user access"
	}
	return &why
}

func (s *Server) decisionRoutes(gov *governance.Service) {
	const tag = "decisions"
	decide := func(r *Request, self bool) (*governance.UserDecision, error) {
		ds, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		user := r.P.UserID
		if !self {
			if user, err = r.PathInt("profileId"); err != nil {
				return nil, err
			}
		}
		var q decisionQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		return gov.Decide(r.Context(), r.P, ds, user, q.ProjectID)
	}
	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/users/{profileId}/policyInfo",
		Summary: "The visibilities, masks and filters a user gets on a data source (FETCH_POLICY_INFO, GOVERNANCE or the user)",
		Tag:     tag, IntParams: []string{"dataSourceId", "profileId"}, Query: decisionQuery{}, Response: policyInfoJSON{}},
		func(r *Request) (any, error) {
			d, err := decide(r, false)
			if err != nil {
				return nil, err
			}
			return policyInfoJSON{Visibilities: d.Visibilities(), VisibilityRuleApplies: d.VisibilityRuleApplies(),
				Masked: maskedList(d.Decision), AdditionalFilters: filtersOf(d.Decision)}, nil
		})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/users/{profileId}/decision",
		Summary: "custos: a user's effective plan on a data source: access, every column's mask, every row filter, and the policy behind each",
		Tag:     tag, IntParams: []string{"dataSourceId", "profileId"}, Query: decisionQuery{}, Response: effectivePlanJSON{}},
		func(r *Request) (any, error) {
			d, err := decide(r, false)
			if err != nil {
				return nil, err
			}
			out := effectivePlanOf(d)
			if s.preview != nil {
				if out.SQL, err = s.preview(r.Context(), d.DataSourceID); err != nil {
					return nil, err
				}
			}
			return out, nil
		})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/users/{profileId}/visibilityReport",
		Summary: "A user's visibility report on a data source (an array of one report)", Tag: tag,
		IntParams: []string{"dataSourceId", "profileId"}, Query: visibilityQuery{}, Response: []visibilityReportJSON{}},
		func(r *Request) (any, error) {
			var q visibilityQuery
			if err := r.Query(&q); err != nil {
				return nil, err
			}
			d, err := decide(r, false)
			if err != nil {
				return nil, err
			}
			rep, err := s.visibilityReport(r, gov, d)
			if err != nil {
				return nil, err
			}
			return []visibilityReportJSON{rep}, nil
		})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/visibilityReport",
		Summary: "The caller's visibility report on a data source", Tag: tag, IntParams: []string{"dataSourceId"},
		Response: visibilityReportJSON{}}, func(r *Request) (any, error) {
		d, err := decide(r, true)
		if err != nil {
			return nil, err
		}
		rep, err := s.visibilityReport(r, gov, d)
		if err != nil {
			return nil, err
		}
		rep.DenialReason = denialReason(d)
		return rep, nil
	})

	s.Handle(Op{Method: "GET", Path: "/dataSource/{dataSourceId}/{columnName}/unmaskUsers",
		Summary: "The users with access who see a column unmasked (FETCH_POLICY_INFO, GOVERNANCE or an owner)", Tag: tag,
		IntParams: []string{"dataSourceId"}, Response: []unmaskUserJSON{}}, func(r *Request) (any, error) {
		ds, err := r.PathInt("dataSourceId")
		if err != nil {
			return nil, err
		}
		users, err := gov.UnmaskUsers(r.Context(), r.P, ds, r.Path("columnName"))
		if err != nil {
			return nil, err
		}
		out := make([]unmaskUserJSON, len(users))
		for i, u := range users {
			out[i] = unmaskUserJSON{Name: u.Name, ProfileID: u.ProfileID, IAMID: u.IAMID}
		}
		return out, nil
	})
}

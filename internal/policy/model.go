package policy

import (
	"encoding/json"
	"time"
)

// Policy is a global policy in the shape of the V2 policy API: where it
// applies (circumstances, owner restrictions) and what it does (one
// subscription action, or data actions made of rules). It encodes to and
// decodes from the V2 JSON payload; see DecodeV2 and Policy.MarshalJSON.
type Policy struct {
	PolicyKey string
	Name      string
	Type      PolicyType

	// Subscription is the action of a subscription policy (Type subscription).
	Subscription *SubscriptionAction
	// Data are the actions of a data policy (Type data).
	Data []DataAction

	// Circumstances say which data sources the policy applies to; none means
	// every data source.
	Circumstances []Circumstance
	// CircumstanceOperator combines Circumstances: all (default) or any.
	CircumstanceOperator Operator
	// OwnerApplied is the payload's "circumstances: null": the policy applies
	// only to data sources whose owners applied it (DataSource.AppliedPolicies).
	OwnerApplied bool
	// OwnerRestrictions limit the policy to data sources owned by these users
	// or groups; nil means no restriction.
	OwnerRestrictions *OwnerRestrictions
	// Staged policies are stored but never applied.
	Staged bool
	// Template marks the policy as offered to data owners as a template.
	Template bool
	// Certification is kept as given (its shape is not documented).
	Certification json.RawMessage
}

// PolicyType is subscription or data.
type PolicyType string

const (
	TypeSubscription PolicyType = "subscription"
	TypeData         PolicyType = "data"
)

// Operator combines conditions: all or any.
type Operator string

const (
	OpAll Operator = "all"
	OpAny Operator = "any"
)

// CircumstanceType names a kind of circumstance.
type CircumstanceType string

const (
	CircTags        CircumstanceType = "tags"        // the data source carries Tag (or a descendant)
	CircColumnTags  CircumstanceType = "columnTags"  // a column carries Tag (or a descendant)
	CircColumnRegex CircumstanceType = "columnRegex" // a column name matches Regex
	CircAnyTag      CircumstanceType = "anyTag"      // the data source or a column carries some tag
	CircNoTags      CircumstanceType = "noTags"      // neither the data source nor any column carries a tag
	CircServer      CircumstanceType = "server"      // the data source lives on Server
	CircTime        CircumstanceType = "time"        // the data source was created between StartDate and EndDate
)

// Circumstance is one condition on a data source.
type Circumstance struct {
	Type            CircumstanceType
	Tag             string // tags, columnTags
	Regex           string // columnRegex
	CaseInsensitive bool   // columnRegex
	Server          string // server
	StartDate       *time.Time
	EndDate         *time.Time
}

// OwnerRestrictions restrict a policy to data sources owned by these users or groups.
type OwnerRestrictions struct {
	Users  []UserRef `json:"users,omitempty"`
	Groups []string  `json:"groups,omitempty"`
}

// UserRef names a user by identity provider and username.
type UserRef struct {
	IAMID    string `json:"iamid,omitempty"`
	Username string `json:"username"`
}

// SubscriptionType says how users get access to a data source.
type SubscriptionType string

const (
	SubAnyone       SubscriptionType = "anyone"       // anyone may subscribe (V1: automatic)
	SubApproval     SubscriptionType = "approval"     // anyone may ask; approvers decide
	SubEntitlements SubscriptionType = "entitlements" // users meeting the entitlements (V1: policy)
	SubManual       SubscriptionType = "manual"       // users individually selected by owners
)

// AccessGrant is READ or WRITE.
type AccessGrant string

const (
	GrantRead  AccessGrant = "READ"
	GrantWrite AccessGrant = "WRITE"
)

// SubscriptionAction is what a subscription policy grants and to whom.
type SubscriptionAction struct {
	Type SubscriptionType
	// AccessGrant is READ (default) or WRITE (a write policy).
	AccessGrant           AccessGrant
	Description           string
	AutomaticSubscription bool
	AllowDiscovery        bool
	// ShareResponsibility: users meet this policy OR another sharing policy
	// on the same data source, instead of every policy.
	ShareResponsibility bool
	Approvals           []Approval
	// Entitlements of an entitlements policy; alternatively Advanced.
	Entitlements *Condition
	// Advanced is a boolean expression over @isInGroups, @hasAttribute and
	// @isUsingPurpose (alias @hasPurpose) with AND, OR, NOT and parentheses.
	Advanced string
}

// Approval is one approval an access request needs.
type Approval struct {
	RequiredPermission       string `json:"requiredPermission"`
	SpecificApproverRequired bool   `json:"specificApproverRequired"`
	SpecificApprover         string `json:"specificApprover,omitempty"`
}

// Condition is an entitlement condition over the user: the exceptions and
// inclusions of rules, and the entitlements of subscription policies.
type Condition struct {
	Operator   Operator // any (default) or all
	Groups     []string
	Attributes []Attribute
	Purposes   []string
}

// Attribute is a name/value pair of a user attribute.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DataAction is a group of rules with a description.
type DataAction struct {
	Rules       []Rule
	Description string
}

// RuleType names a kind of data rule, spelled as in the V2 API.
type RuleType string

const (
	RuleMasking            RuleType = "Masking"
	RuleMinimization       RuleType = "Minimization"
	RulePurposeRestriction RuleType = "Purpose Restriction"
	RuleTimeRestriction    RuleType = "Time Restriction"
	RuleRowEntitlements    RuleType = "Row Restriction By User Entitlements"
	RuleRowCustomWhere     RuleType = "Row Restriction by Custom Where Clause"
)

// Rule is one data rule. Exactly the config matching Type is set.
type Rule struct {
	Type         RuleType
	Masking      *MaskingRule
	Minimization *MinimizationRule
	Purpose      *PurposeRule
	Time         *TimeRule
	RowMatch     *RowMatchRule
	CustomWhere  *CustomWhereRule
	// Exceptions: users meeting them are exempt ("for everyone except").
	Exceptions *Condition
	// Inclusions: the rule applies only to users meeting them ("for everyone who").
	Inclusions *Condition
}

// MaskingRule masks the selected columns.
type MaskingRule struct {
	Fields []FieldSelector
	// ConditionalPredicate, when set, masks only the rows where it holds.
	ConditionalPredicate string
	Masking              Masking
}

// FieldType names a kind of column selector.
type FieldType string

const (
	FieldColumnTags  FieldType = "columnTags"
	FieldColumnRegex FieldType = "columnRegex"
	FieldAnyTag      FieldType = "anyTag"
	FieldNoTags      FieldType = "noTags"
	FieldAllColumns  FieldType = "allColumns"
	// FieldColumn selects one column by name; local (data-source) policies only.
	FieldColumn FieldType = "column"
)

// FieldSelector selects columns of a data source.
type FieldSelector struct {
	Type            FieldType
	ColumnTag       string
	Regex           string
	CaseInsensitive bool
	Column          string
}

// MaskingType names a masking function, spelled as in the V2 API.
type MaskingType string

const (
	MaskHash             MaskingType = "Hash"
	MaskNull             MaskingType = "Null"
	MaskConstant         MaskingType = "Constant"
	MaskRegex            MaskingType = "Regular Expression"
	MaskGrouping         MaskingType = "Grouping"
	MaskFormatPreserving MaskingType = "Format Preserving Masking"
	MaskReversible       MaskingType = "Reversible"
	MaskRandomized       MaskingType = "Randomized Response"
	MaskKAnonymization   MaskingType = "K-Anonymization"
)

// Masking is a masking function with its parameters. Parameters that may be
// absent on purpose (a K-anonymization without kLevel uses fingerprints) are
// pointers.
type Masking struct {
	Type MaskingType `json:"type"`
	// Constant
	Constant string `json:"constant,omitempty"`
	// Regular Expression
	Regex           string `json:"regex,omitempty"`
	Replacement     string `json:"replacement,omitempty"`
	CaseInsensitive bool   `json:"caseInsensitive,omitempty"`
	Global          bool   `json:"global,omitempty"`
	// Grouping: TimePrecision for dates, BucketSize for numbers, neither for fingerprint-based grouping.
	TimePrecision string   `json:"timePrecision,omitempty"`
	BucketSize    *float64 `json:"bucketSize,omitempty"`
	// Randomized Response: ReplacementRatePercent, or Stddev with Clip.
	ReplacementRatePercent *float64 `json:"replacementRatePercent,omitempty"`
	Stddev                 *float64 `json:"stddev,omitempty"`
	Clip                   *bool    `json:"clip,omitempty"`
	// K-Anonymization: KLevel or ReIDProbability, or neither (fingerprint).
	KLevel          *int     `json:"kLevel,omitempty"`
	ReIDProbability *float64 `json:"reIdProbability,omitempty"`
}

// MinimizationRule shows only Percent percent of the rows.
type MinimizationRule struct {
	Percent int
	// Column is the high-cardinality column to hash (local policies; global
	// ones use the data source's HighCardinalityColumn).
	Column string
}

// AnyPurposeName is the purpose placeholder meaning "any purpose at all".
const AnyPurposeName = "<ANY PURPOSE>"

// PurposeRule shows data only to users acting under the purposes.
type PurposeRule struct {
	Operator Operator // any (default) or all
	Purposes []string
}

// TimeRule shows only rows whose event time is newer (or older) than Seconds ago.
type TimeRule struct {
	IsOlderOrNewer string // "newer" or "older"
	Seconds        int64
}

// RowMatchRule shows rows whose tagged column matches the user's entitlements.
type RowMatchRule struct {
	Operator Operator // how several matches combine: all (default) or any
	Matches  []Match
}

// MatchType is what a row column is matched against.
type MatchType string

const (
	MatchGroup     MatchType = "group"
	MatchAttribute MatchType = "attribute"
	MatchPurpose   MatchType = "purpose"
)

// Match pairs a column (by tag, or by name in local policies) with a kind of
// entitlement.
type Match struct {
	Type      MatchType
	Tag       string
	Attribute string // MatchAttribute: the attribute whose values are compared
	Column    string // local policies: the column by name
}

// CustomWhereRule shows rows where Predicate holds.
type CustomWhereRule struct {
	Predicate string
}

// Package policy is the custos policy engine: pure Go, no I/O. It owns the
// global policy model, its V2 and V1 payloads, and the two stages that turn
// policies into decisions.
//
// The model. A Policy is a global policy in the shape of the V2 policy API:
// a key, a name, a type (subscription or data), where it applies
// (Circumstances combined with all or any, OwnerRestrictions, OwnerApplied
// for "circumstances: null", Staged) and what it does (one
// SubscriptionAction, or DataActions made of Rules). DecodeV2 reads a V2
// payload (JSON or YAML) and DecodeV1 a V1 global policy object; both return
// every problem at once as an errs.Invalid error with dotted field paths.
// Policy.MarshalJSON writes the V2 payload and Policy.ToV1 the V1 object.
// References lists the groups, attributes, purposes, tags and users a policy
// names, for the caller to check against the store. A LocalPolicy is a data
// source's own policy (its V1 policy handler), read by DecodeLocalV1.
//
// Apply. An Index holds the policies and the data sources (columns, tags,
// owners, server, creation time) in compact, interned form and keeps one Plan
// per data source: which policies apply, and what they decide for every user
// at once. Conditions over the querying user stay symbolic (Cond: InGroup,
// HasAttribute, ActingUnderPurpose, And, Or, Not, ...) and row predicates are
// ASTs of package expr, with columns resolved (@columnTagged('tag') becomes
// the data source's column) and user functions (@groupsContains, @username,
// ...) left for the renderer, so one plan renders into one view or one set of
// masks and row filters. Conflicts are resolved in the plan and reported:
// two global policies masking a column leave it to the lower policy id; what
// owners chose (the data source's own policy, a global policy they applied)
// never displaces a global policy that applies by its circumstances (its
// masks follow, deciding only where governance leaves a value unmasked);
// several subscription policies merge into the most restrictive type with
// their conditions combined.
// Every change (UpsertPolicy, RemovePolicy, UpsertDataSource, TagColumn,
// SetLocalPolicy, ...) returns exactly the data sources whose plan changed.
//
// Evaluate. Evaluate turns a plan and one user's Entitlements (groups,
// attributes, the purposes they act under) into a Decision: may they
// subscribe and with which grant, which mask each column gets and from which
// policy, which row filters apply (user functions resolved to literals), and
// which policies affected them. Purposes are dotted hierarchies: a user
// acting under "A.B" satisfies a condition on "A", not the reverse.
package policy

package governance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// PolicyView is a stored global policy with its metadata.
type PolicyView struct {
	ID                  int64
	Policy              *policy.Policy
	SystemGenerated     bool
	Deleted             bool
	ClonedFrom          *int64
	RecertifyRequiredAt *time.Time
	CreatedBy           *int64
	CreatedByName       string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	// WithChildren are the tags the policy names that have tags below
	// them (hasLeafNodes in V1 tag objects).
	WithChildren map[string]bool
}

// V1 renders the policy as a V1 global policy object.
func (v *PolicyView) V1() *policy.V1Policy {
	o := v.Policy.ToV1With(func(tag string) bool { return v.WithChildren[tag] })
	o.ID, o.SystemGenerated, o.Deleted, o.ClonedFrom = v.ID, v.SystemGenerated, v.Deleted, v.ClonedFrom
	if v.CreatedBy != nil {
		o.CreatedBy = *v.CreatedBy
	}
	o.CreatedByName = v.CreatedByName
	created, updated := v.CreatedAt, v.UpdatedAt
	o.CreatedAt, o.UpdatedAt = &created, &updated
	if v.RecertifyRequiredAt != nil {
		o.Metadata, _ = json.Marshal(map[string]any{"recertificationRequiredAt": v.RecertifyRequiredAt})
	}
	return o
}

func (s *Service) views(ctx context.Context, q *store.Queries, sps []*storedPolicy) ([]*PolicyView, error) {
	var ids []int64
	for _, sp := range sps {
		if sp.CreatedBy != nil {
			ids = append(ids, *sp.CreatedBy)
		}
	}
	names, err := userNames(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*PolicyView, 0, len(sps))
	named := map[string]bool{}
	for _, sp := range sps {
		p, err := decodeStored(sp)
		if err != nil {
			return nil, err
		}
		for _, t := range p.References().Tags {
			named[t] = true
		}
		v := &PolicyView{ID: sp.ID, Policy: p, SystemGenerated: sp.SystemGenerated, ClonedFrom: sp.ClonedFrom,
			RecertifyRequiredAt: sp.RecertifyRequiredAt, CreatedBy: sp.CreatedBy, CreatedAt: sp.CreatedAt,
			UpdatedAt: sp.UpdatedAt}
		if sp.CreatedBy != nil {
			v.CreatedByName = names[*sp.CreatedBy]
		}
		out = append(out, v)
	}
	withChildren, err := q.TagsWithChildren(ctx, sortedKeys(named))
	if err != nil {
		return nil, err
	}
	for _, v := range out {
		v.WithChildren = withChildren
	}
	return out, nil
}

func (s *Service) view(ctx context.Context, q *store.Queries, sp *storedPolicy) (*PolicyView, error) {
	vs, err := s.views(ctx, q, []*storedPolicy{sp})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// SaveResult is the answer of the V2 policy and purpose endpoints.
type SaveResult struct {
	DryRun   bool
	Creating bool
	Updating bool
	ID       *int64
}

// SavePolicyV2 creates or updates the global policy of a V2 payload, keyed
// by its policyKey. With reCertify, a changed certification must be
// certified again (recertificationRequiredAt is set). It needs GOVERNANCE.
func (s *Service) SavePolicyV2(ctx context.Context, p *auth.Principal, body []byte, dryRun, reCertify bool) (*SaveResult, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	pol, err := policy.DecodeV2(body)
	if err != nil {
		return nil, err
	}
	res := &SaveResult{DryRun: dryRun}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		existing, err := getPolicyByKey(ctx, &tx.Queries, pol.PolicyKey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		refs := policyRefs(pol, dialectV2)
		if err := checkRefs(ctx, &tx.Queries, refs, s.targetColumns(existing, pol, refs)); err != nil {
			return err
		}
		res.Creating, res.Updating = existing == nil, existing != nil
		if existing != nil {
			id := existing.ID
			res.ID = &id
		}
		if dryRun {
			return audit.Write(ctx, &tx.Queries, audit.Event{Type: "policySave", Action: "dryRun", Success: true,
				TargetType: "policy", PolicyName: pol.Name, Details: map[string]any{"policyKey": pol.PolicyKey,
					"creating": res.Creating}})
		}
		sp, err := s.writePolicy(ctx, tx, p, existing, pol, reCertify)
		if err != nil {
			return err
		}
		res.ID = &sp.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !dryRun {
		s.synced(ctx)
	}
	return res, nil
}

// writePolicy inserts pol, or replaces existing with it, appends the change
// and audits it.
func (s *Service) writePolicy(ctx context.Context, tx *store.Tx, p *auth.Principal, existing *storedPolicy, pol *policy.Policy, reCertify bool) (*storedPolicy, error) {
	doc, err := json.Marshal(pol)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	sp := &storedPolicy{PolicyKey: pol.PolicyKey, Name: pol.Name, Type: string(pol.Type), Document: doc,
		Staged: pol.Staged, Template: pol.Template, OwnerApplied: pol.OwnerApplied, CreatedBy: &p.UserID,
		CreatedAt: now, UpdatedAt: now}
	action := "create"
	if existing != nil {
		action = "update"
		sp.ID, sp.CreatedBy, sp.CreatedAt = existing.ID, existing.CreatedBy, existing.CreatedAt
		sp.RecertifyRequiredAt = existing.RecertifyRequiredAt
		if old, err := decodeStored(existing); err == nil && reCertify && !sameJSON(old.Certification, pol.Certification) {
			sp.RecertifyRequiredAt = &now
		}
		if err := updatePolicy(ctx, &tx.Queries, sp); err != nil {
			return nil, err
		}
	} else if err := insertPolicy(ctx, &tx.Queries, sp); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, errs.Field("policyKey", errs.CodeUnique, "a policy with policyKey %q already exists", pol.PolicyKey)
		}
		return nil, err
	}
	if err := tx.AppendChange(ctx, KindPolicySaved, "policy", strconv.FormatInt(sp.ID, 10)); err != nil {
		return nil, err
	}
	return sp, audit.Write(ctx, &tx.Queries, audit.Event{Type: "policySave", Action: action, Success: true,
		TargetType: "policy", TargetID: strconv.FormatInt(sp.ID, 10), PolicyID: &sp.ID, PolicyName: sp.Name,
		Details: map[string]any{"policyKey": sp.PolicyKey, "reCertify": reCertify}})
}

// targetColumns are the column names of the data sources pol applies to
// once saved (replacing existing, if any), for checking the columns its
// predicates name; nil when it applies to none yet, and custos cannot know.
func (s *Service) targetColumns(existing *storedPolicy, pol *policy.Policy, refs []reference) map[string]bool {
	named := false
	for _, r := range refs {
		named = named || r.kind == refPredColumn
	}
	ix := s.index()
	if !named || ix == nil {
		return nil
	}
	var id int64
	if existing != nil {
		id = existing.ID
	}
	cols, n := ix.TargetColumns(id, pol)
	if n == 0 {
		return nil
	}
	return cols
}

func sameJSON(a, b json.RawMessage) bool {
	norm := func(m json.RawMessage) string {
		if len(bytes.TrimSpace(m)) == 0 {
			return "null"
		}
		var v any
		if json.Unmarshal(m, &v) != nil {
			return string(m)
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	return norm(a) == norm(b)
}

// CreatePolicyV1 creates a global policy from a V1 object. Its policyKey,
// when not given, is its name. It needs GOVERNANCE.
func (s *Service) CreatePolicyV1(ctx context.Context, p *auth.Principal, body []byte) (*PolicyView, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	pol, err := policy.DecodeV1(body)
	if err != nil {
		return nil, err
	}
	keyField := "name"
	if has, _ := bodyHas(body, "policyKey"); has {
		keyField = "policyKey"
	}
	var out *PolicyView
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		refs := policyRefs(pol, dialectV1)
		if err := checkRefs(ctx, &tx.Queries, refs, s.targetColumns(nil, pol, refs)); err != nil {
			return err
		}
		if _, err := getPolicyByKey(ctx, &tx.Queries, pol.PolicyKey); err == nil {
			return errs.Field(keyField, errs.CodeUnique, "a policy with policyKey %q already exists; update it with PUT /policy/global/{id}", pol.PolicyKey)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		sp, err := s.writePolicy(ctx, tx, p, nil, pol, false)
		if err != nil {
			return err
		}
		out, err = s.view(ctx, &tx.Queries, sp)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// UpdatePolicyV1 replaces global policy id with a V1 object. Without a
// policyKey in the body the policy keeps its key. It needs GOVERNANCE.
func (s *Service) UpdatePolicyV1(ctx context.Context, p *auth.Principal, id int64, body []byte) (*PolicyView, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	if _, err := getPolicy(ctx, &s.db.Queries, id); errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("global policy %d does not exist", id)
	} else if err != nil {
		return nil, err
	}
	pol, err := policy.DecodeV1(body)
	if err != nil {
		return nil, err
	}
	hasKey, err := bodyHas(body, "policyKey")
	if err != nil {
		return nil, err
	}
	var out *PolicyView
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		existing, err := getPolicy(ctx, &tx.Queries, id)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("global policy %d does not exist", id)
		} else if err != nil {
			return err
		}
		if !hasKey {
			pol.PolicyKey = existing.PolicyKey
		}
		refs := policyRefs(pol, dialectV1)
		if err := checkRefs(ctx, &tx.Queries, refs, s.targetColumns(existing, pol, refs)); err != nil {
			return err
		}
		if pol.PolicyKey != existing.PolicyKey {
			if _, err := getPolicyByKey(ctx, &tx.Queries, pol.PolicyKey); err == nil {
				return errs.Field("policyKey", errs.CodeUnique, "another policy has policyKey %q", pol.PolicyKey)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		sp, err := s.writePolicy(ctx, tx, p, existing, pol, false)
		if err != nil {
			return err
		}
		out, err = s.view(ctx, &tx.Queries, sp)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// bodyHas reports whether a JSON or YAML object has a top-level key.
func bodyHas(body []byte, key string) (bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		j, yerr := yaml.YAMLToJSON(body)
		if yerr != nil {
			return false, errs.BadRequestf("the request body is not valid JSON or YAML: %v", err)
		}
		if err := json.Unmarshal(j, &m); err != nil {
			return false, errs.BadRequestf("the request body must be an object")
		}
	}
	_, ok := m[key]
	return ok, nil
}

// Policy returns global policy id.
func (s *Service) Policy(ctx context.Context, id int64) (*PolicyView, error) {
	sp, err := getPolicy(ctx, &s.db.Queries, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("global policy %d does not exist", id)
	} else if err != nil {
		return nil, err
	}
	return s.view(ctx, &s.db.Queries, sp)
}

// PolicyByKey returns the global policy with a policyKey.
func (s *Service) PolicyByKey(ctx context.Context, key string) (*PolicyView, error) {
	sp, err := getPolicyByKey(ctx, &s.db.Queries, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("the policy key %q was not found", key)
	} else if err != nil {
		return nil, err
	}
	return s.view(ctx, &s.db.Queries, sp)
}

// Policies returns every global policy, sorted by policyKey.
func (s *Service) Policies(ctx context.Context) ([]*PolicyView, error) {
	sps, err := allPolicies(ctx, &s.db.Queries)
	if err != nil {
		return nil, err
	}
	sort.Slice(sps, func(i, j int) bool { return sps[i].PolicyKey < sps[j].PolicyKey })
	return s.views(ctx, &s.db.Queries, sps)
}

// PolicyFilter narrows GET /policy/global.
type PolicyFilter struct {
	SearchText string // part of the name, any case
	Type       string // data or subscription
	Templates  *bool  // true: templates only; false: no templates
	// IgnoreStaged leaves staged policies out.
	IgnoreStaged bool
	SortField    string // name or createdAt (default)
	Descending   bool
	Offset       int
	Size         int // 0: all
}

// ListPolicies returns one page of global policies and their count.
func (s *Service) ListPolicies(ctx context.Context, f PolicyFilter) ([]*PolicyView, int, error) {
	var a store.Args
	var conds []string
	if f.SearchText != "" {
		conds = append(conds, `LOWER(name) LIKE `+a.Add(store.LikePattern(f.SearchText))+` ESCAPE '\'`)
	}
	if f.Type != "" {
		conds = append(conds, `type = `+a.Add(f.Type))
	}
	if f.Templates != nil {
		conds = append(conds, `template = `+a.Add(*f.Templates))
	}
	if f.IgnoreStaged {
		conds = append(conds, `staged = `+a.Add(false))
	}
	where := store.Where(conds)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM policies`+where, a...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := "created_at"
	if f.SortField == "name" {
		order = "LOWER(name)"
	}
	dir := "ASC"
	if f.Descending {
		dir = "DESC"
	}
	limit := ""
	if f.Size > 0 {
		limit = ` LIMIT ` + a.Add(f.Size) + ` OFFSET ` + a.Add(f.Offset)
	}
	sps, err := scanPolicies(s.db.Query(ctx, `SELECT `+policyColumns+` FROM policies`+where+` ORDER BY `+order+
		` `+dir+`, id `+dir+limit, a...))
	if err != nil {
		return nil, 0, err
	}
	views, err := s.views(ctx, &s.db.Queries, sps)
	return views, total, err
}

// DeletePolicy deletes global policy id and returns it as it was. It needs
// GOVERNANCE.
func (s *Service) DeletePolicy(ctx context.Context, p *auth.Principal, id int64) (*PolicyView, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	var out *PolicyView
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		sp, err := getPolicy(ctx, &tx.Queries, id)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("global policy %d does not exist", id)
		} else if err != nil {
			return err
		}
		if out, err = s.view(ctx, &tx.Queries, sp); err != nil {
			return err
		}
		out.Deleted = true
		return s.removePolicy(ctx, tx, sp)
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// DeletePolicyByKey deletes the policy with a policyKey (V2). With dryRun
// nothing is deleted. It needs GOVERNANCE.
func (s *Service) DeletePolicyByKey(ctx context.Context, p *auth.Principal, key string, dryRun bool) error {
	if err := p.Require(auth.Governance); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		sp, err := getPolicyByKey(ctx, &tx.Queries, key)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("the policy key %q was not found", key)
		} else if err != nil {
			return err
		}
		if dryRun {
			return audit.Write(ctx, &tx.Queries, audit.Event{Type: "policyDelete", Action: "dryRun", Success: true,
				TargetType: "policy", TargetID: strconv.FormatInt(sp.ID, 10), PolicyID: &sp.ID, PolicyName: sp.Name})
		}
		return s.removePolicy(ctx, tx, sp)
	})
	if err == nil && !dryRun {
		s.synced(ctx)
	}
	return err
}

func (s *Service) removePolicy(ctx context.Context, tx *store.Tx, sp *storedPolicy) error {
	if err := deletePolicy(ctx, &tx.Queries, sp.ID); err != nil {
		return err
	}
	if err := tx.AppendChange(ctx, KindPolicyDeleted, "policy", strconv.FormatInt(sp.ID, 10)); err != nil {
		return err
	}
	return audit.Write(ctx, &tx.Queries, audit.Event{Type: "policyDelete", Success: true, TargetType: "policy",
		TargetID: strconv.FormatInt(sp.ID, 10), PolicyID: &sp.ID, PolicyName: sp.Name,
		Details: map[string]any{"policyKey": sp.PolicyKey}})
}

// RenamePolicy changes a policy's key (V2). It needs GOVERNANCE.
func (s *Service) RenamePolicy(ctx context.Context, p *auth.Principal, oldKey, newKey string) error {
	if err := p.Require(auth.Governance); err != nil {
		return err
	}
	if strings.TrimSpace(newKey) == "" {
		return errs.Field("newPolicyKey", errs.CodeRequired, "newPolicyKey is required")
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		sp, err := getPolicyByKey(ctx, &tx.Queries, oldKey)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("the policy key %q was not found", oldKey)
		} else if err != nil {
			return err
		}
		if oldKey == newKey {
			return errs.Field("newPolicyKey", errs.CodeInvalid, "newPolicyKey is the policy's key already")
		}
		if _, err := getPolicyByKey(ctx, &tx.Queries, newKey); err == nil {
			return errs.Field("newPolicyKey", errs.CodeUnique, "a policy with policyKey %q already exists", newKey)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		pol, err := decodeStored(sp)
		if err != nil {
			return err
		}
		pol.PolicyKey = newKey
		if sp.Document, err = json.Marshal(pol); err != nil {
			return err
		}
		sp.PolicyKey, sp.UpdatedAt = newKey, store.Now()
		if err := updatePolicy(ctx, &tx.Queries, sp); err != nil {
			return err
		}
		if err := tx.AppendChange(ctx, KindPolicySaved, "policy", strconv.FormatInt(sp.ID, 10)); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "policyRename", Success: true, TargetType: "policy",
			TargetID: strconv.FormatInt(sp.ID, 10), PolicyID: &sp.ID, PolicyName: sp.Name,
			Details: map[string]any{"oldPolicyKey": oldKey, "newPolicyKey": newKey}})
	})
	if err == nil {
		s.synced(ctx)
	}
	return err
}

// AppliedTo lists the data sources global policy id applies to now.
func (s *Service) AppliedTo(ctx context.Context, id int64) ([]int64, error) {
	if _, err := getPolicy(ctx, &s.db.Queries, id); errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("global policy %d does not exist", id)
	} else if err != nil {
		return nil, err
	}
	if err := s.Sync(ctx); err != nil {
		return nil, err
	}
	return s.index().AppliesTo(id), nil
}

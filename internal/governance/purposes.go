package governance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Purpose is a purpose: a reason for using data that projects declare and
// that policies restrict by. Names are dotted hierarchies (Parent.Child).
type Purpose struct {
	ID          int64
	Name        string
	Description *string
	// Acknowledgement is the purpose's own statement; nil means it uses its
	// nearest ancestor's (or the default), EffectiveAcknowledgement.
	Acknowledgement          *string
	EffectiveAcknowledgement string
	DisplayAcknowledgement   bool
	// AcknowledgementVersion grows whenever the statement in force changes;
	// project members must have acknowledged RequiredAcknowledgementVersion.
	AcknowledgementVersion         int64
	RequiredAcknowledgementVersion int64
	KAnonNoiseReduction            *string
	PolicyMetadata                 json.RawMessage
	Staged                         bool
	SystemGenerated                bool
	Deleted                        bool
	AddedBy                        *int64
	AddedByName                    string
	CreatedAt                      time.Time
	UpdatedAt                      time.Time
	Subpurposes                    []*Purpose // filled when asked for
}

// DefaultAcknowledgement is the statement of purposes with none in their hierarchy.
const DefaultAcknowledgement = "I will use the data of this project only for the purpose the project states, " +
	"and I will not share it outside the project."

// builtinPurposes exist on every server, as the reference's system purposes do.
var builtinPurposes = []struct{ name, ack string }{
	{"Re-identification Prohibited", "I will not use this data, alone or combined with other data, to re-identify the people it describes."},
	{"Re-identification Prohibited.CCPA", "I will treat this data as de-identified under the California Consumer Privacy Act and will not try to re-identify any consumer."},
	{"Re-identification Prohibited.Safe Harbor Method", "I will treat this data as de-identified by the Safe Harbor method and will not try to re-identify any individual."},
	{"Use Case Outside De-identification", "I will use this data only for the use case my project documents, which does not rely on de-identification."},
}

func (s *Service) ensureBuiltinPurposes(ctx context.Context) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		for _, b := range builtinPurposes {
			if _, err := tx.Exec(ctx, `INSERT INTO purposes (name, acknowledgement, system_generated, created_at, updated_at)
				VALUES ($1, $2, TRUE, $3, $3) ON CONFLICT (name) DO NOTHING`, b.name, b.ack, now); err != nil {
				return err
			}
		}
		return nil
	})
}

const purposeColumns = `id, name, description, acknowledgement, display_acknowledgement, acknowledgement_version,
	required_acknowledgement_version, k_anon_noise_reduction, policy_metadata, staged, system_generated, deleted,
	added_by, created_at, updated_at`

func scanPurposes(rows *sql.Rows, err error) ([]*Purpose, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Purpose
	for rows.Next() {
		var p Purpose
		var meta store.JSON
		if err := rows.Scan(&p.ID, &p.Name, &p.Description, &p.Acknowledgement, &p.DisplayAcknowledgement,
			&p.AcknowledgementVersion, &p.RequiredAcknowledgementVersion, &p.KAnonNoiseReduction, &meta, &p.Staged,
			&p.SystemGenerated, &p.Deleted, &p.AddedBy, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return nil, err
		}
		p.PolicyMetadata = json.RawMessage(meta)
		out = append(out, &p)
	}
	return out, rows.Err()
}

// purposeSet is every purpose (deleted ones included), by name.
type purposeSet map[string]*Purpose

func loadPurposes(ctx context.Context, q *store.Queries) (purposeSet, error) {
	list, err := scanPurposes(q.Query(ctx, `SELECT `+purposeColumns+` FROM purposes ORDER BY name`))
	if err != nil {
		return nil, err
	}
	set := purposeSet{}
	for _, p := range list {
		set[p.Name] = p
	}
	for _, p := range list {
		p.EffectiveAcknowledgement = set.effective(p.Name)
	}
	return set, nil
}

// effective is the statement in force for name: its own, its nearest live
// ancestor's, or the default.
func (ps purposeSet) effective(name string) string {
	for n := name; ; {
		if p := ps[n]; p != nil && !p.Deleted && p.Acknowledgement != nil {
			return *p.Acknowledgement
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			return DefaultAcknowledgement
		}
		n = n[:i]
	}
}

// live returns the purpose named name unless it is deleted.
func (ps purposeSet) live(name string) *Purpose {
	if p := ps[name]; p != nil && !p.Deleted {
		return p
	}
	return nil
}

// subtree lists the live purposes at or below name, sorted by name.
func (ps purposeSet) subtree(name string) []*Purpose {
	var out []*Purpose
	for n, p := range ps {
		if !p.Deleted && (n == name || strings.HasPrefix(n, name+".")) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func parentName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return ""
}

// ValidPurposeName checks a full dotted purpose name.
func ValidPurposeName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("a purpose name must not be empty")
	case len(name) > 255:
		return errors.New("a purpose name must be at most 255 characters")
	case name == policy.AnyPurposeName:
		return fmt.Errorf("%q is reserved: policies use it for any purpose", name)
	}
	for _, seg := range strings.Split(name, ".") {
		if strings.TrimSpace(seg) == "" {
			return fmt.Errorf("purpose %q has an empty part: parts are separated by single dots", name)
		}
		if seg != strings.TrimSpace(seg) {
			return fmt.Errorf("purpose %q has a part with leading or trailing spaces", name)
		}
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("purpose %q contains a control character", name)
		}
	}
	return nil
}

// PurposeInput is a purpose to create or update, with its sub-purposes
// (full dotted names below it, at any depth).
type PurposeInput struct {
	Name                   string
	Description            *string
	Acknowledgement        *string
	DisplayAcknowledgement *bool
	KAnonNoiseReduction    *string
	PolicyMetadata         json.RawMessage
	Staged                 *bool
	Subpurposes            []PurposeInput
}

// validateInput checks names: valid, sub-purposes strictly below the root
// and listed once. Field paths are V2's.
func validateInput(in PurposeInput) error {
	var l errs.List
	if err := ValidPurposeName(in.Name); err != nil {
		l.Add("name", errs.CodeInvalid, "name: %v", err)
	}
	seen := map[string]bool{in.Name: true}
	for i, sp := range in.Subpurposes {
		f := fmt.Sprintf("subpurposes[%d].name", i)
		if err := ValidPurposeName(sp.Name); err != nil {
			l.Add(f, errs.CodeInvalid, "%s: %v", f, err)
			continue
		}
		switch {
		case sp.Name == in.Name:
			l.Add(f, errs.CodeInvalid, "%s: purpose %q cannot be its own sub-purpose", f, sp.Name)
		case !strings.HasPrefix(sp.Name, in.Name+"."):
			l.Add(f, errs.CodeInvalid, "%s: %q is not below %q; sub-purposes are full dotted names such as %q", f, sp.Name,
				in.Name, in.Name+"."+sp.Name)
		case seen[sp.Name]:
			l.Add(f, errs.CodeUnique, "%s: %q is listed twice", f, sp.Name)
		}
		seen[sp.Name] = true
		if len(sp.Subpurposes) > 0 {
			l.Add(fmt.Sprintf("subpurposes[%d].subpurposes", i), errs.CodeInvalid, "list every sub-purpose in the root's subpurposes, by its full name")
		}
	}
	return l.Err()
}

// SavePurpose creates or updates a purpose and its sub-purposes (V2: the
// payload states the whole purpose; absent fields are cleared). With
// reAcknowledge, members of projects using a purpose whose statement
// changed must acknowledge it again. create refuses a purpose that exists
// (V1 POST). It needs GOVERNANCE.
func (s *Service) SavePurpose(ctx context.Context, p *auth.Principal, in PurposeInput, dryRun, reAcknowledge, create bool) (*SaveResult, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	if err := validateInput(in); err != nil {
		return nil, err
	}
	res := &SaveResult{DryRun: dryRun}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ps, err := loadPurposes(ctx, &tx.Queries)
		if err != nil {
			return err
		}
		before := map[string]string{}
		for n := range ps {
			before[n] = ps.effective(n)
		}
		var l errs.List
		if parent := parentName(in.Name); parent != "" && ps.live(parent) == nil {
			l.Add("name", errs.CodeNotFound, "name: the parent purpose %q does not exist; create it first", parent)
		}
		if existing := ps.live(in.Name); existing != nil && create {
			l.Add("name", errs.CodeUnique, "name: purpose %q already exists", in.Name)
		}
		inRequest := map[string]bool{in.Name: true}
		for _, sp := range in.Subpurposes {
			inRequest[sp.Name] = true
		}
		for i, sp := range in.Subpurposes {
			if parent := parentName(sp.Name); !inRequest[parent] && ps.live(parent) == nil {
				l.Add(fmt.Sprintf("subpurposes[%d].name", i), errs.CodeNotFound,
					"subpurposes[%d].name: the parent purpose %q does not exist; list it too", i, parent)
			}
		}
		if err := l.Err(); err != nil {
			return err
		}
		now := store.Now()
		all := append([]PurposeInput{in}, in.Subpurposes...)
		sort.SliceStable(all, func(i, j int) bool { return strings.Count(all[i].Name, ".") < strings.Count(all[j].Name, ".") })
		touched := map[string]bool{}
		for _, x := range all {
			cur := ps[x.Name]
			if cur == nil {
				cur = &Purpose{Name: x.Name, AddedBy: &p.UserID, CreatedAt: now, AcknowledgementVersion: 1,
					RequiredAcknowledgementVersion: 1}
				ps[x.Name] = cur
			}
			if x.Name == in.Name {
				res.Creating = cur.ID == 0 || cur.Deleted
				res.Updating = !res.Creating
			}
			cur.Deleted = false
			cur.Description, cur.Acknowledgement, cur.KAnonNoiseReduction = x.Description, x.Acknowledgement, x.KAnonNoiseReduction
			cur.DisplayAcknowledgement = x.DisplayAcknowledgement == nil || *x.DisplayAcknowledgement
			cur.Staged = x.Staged != nil && *x.Staged
			cur.PolicyMetadata = x.PolicyMetadata
			cur.UpdatedAt = now
			touched[x.Name] = true
		}
		s.bumpVersions(ps, before, in.Name, reAcknowledge, touched)
		if r := ps[in.Name]; r.ID != 0 {
			id := r.ID
			res.ID = &id
		}
		if dryRun {
			return audit.Write(ctx, &tx.Queries, audit.Event{Type: "purposeSave", Action: "dryRun", Success: true,
				TargetType: "purpose", Details: map[string]any{"name": in.Name, "creating": res.Creating}})
		}
		if err := s.writePurposes(ctx, tx, ps, touched); err != nil {
			return err
		}
		id := ps[in.Name].ID
		res.ID = &id
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "purposeSave", Success: true, TargetType: "purpose",
			TargetID: strconv.FormatInt(id, 10), Details: map[string]any{"name": in.Name, "creating": res.Creating,
				"reAcknowledgeRequired": reAcknowledge}})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// bumpVersions raises the acknowledgement version of every purpose at or
// below root whose statement in force changed, marking it touched; with
// reAcknowledge the new version becomes the required one.
func (s *Service) bumpVersions(ps purposeSet, before map[string]string, root string, reAcknowledge bool, touched map[string]bool) {
	for _, p := range ps.subtree(root) {
		old, existed := before[p.Name]
		now := ps.effective(p.Name)
		p.EffectiveAcknowledgement = now
		if !existed || p.ID == 0 || old == now {
			continue
		}
		p.AcknowledgementVersion++
		if reAcknowledge {
			p.RequiredAcknowledgementVersion = p.AcknowledgementVersion
		}
		touched[p.Name] = true
	}
}

// writePurposes inserts or updates the touched purposes, parents first,
// appending a change for each.
func (s *Service) writePurposes(ctx context.Context, tx *store.Tx, ps purposeSet, touched map[string]bool) error {
	names := make([]string, 0, len(touched))
	for n := range touched {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "."), strings.Count(names[j], ".")
		return di < dj || di == dj && names[i] < names[j]
	})
	for _, n := range names {
		p := ps[n]
		var meta any
		if len(p.PolicyMetadata) > 0 && string(p.PolicyMetadata) != "null" {
			meta = string(p.PolicyMetadata)
		}
		if p.ID == 0 {
			if err := tx.QueryRow(ctx, `INSERT INTO purposes (name, description, acknowledgement, display_acknowledgement,
				acknowledgement_version, required_acknowledgement_version, k_anon_noise_reduction, policy_metadata, staged,
				system_generated, deleted, added_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, FALSE, $10, $11, $12) RETURNING id`,
				p.Name, p.Description, p.Acknowledgement, p.DisplayAcknowledgement, p.AcknowledgementVersion,
				p.RequiredAcknowledgementVersion, p.KAnonNoiseReduction, meta, p.Staged, p.AddedBy, p.CreatedAt,
				p.UpdatedAt).Scan(&p.ID); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `UPDATE purposes SET name = $2, description = $3, acknowledgement = $4,
			display_acknowledgement = $5, acknowledgement_version = $6, required_acknowledgement_version = $7,
			k_anon_noise_reduction = $8, policy_metadata = $9, staged = $10, deleted = $11, updated_at = $12 WHERE id = $1`,
			p.ID, p.Name, p.Description, p.Acknowledgement, p.DisplayAcknowledgement, p.AcknowledgementVersion,
			p.RequiredAcknowledgementVersion, p.KAnonNoiseReduction, meta, p.Staged, p.Deleted, p.UpdatedAt); err != nil {
			return err
		}
		kind := KindPurposeSaved
		if p.Deleted {
			kind = KindPurposeDeleted
		}
		if err := tx.AppendChange(ctx, kind, "purpose", strconv.FormatInt(p.ID, 10)); err != nil {
			return err
		}
	}
	if hook := s.purposesWritten(); hook != nil && len(names) > 0 {
		ids := make([]int64, len(names))
		for i, n := range names {
			ids[i] = ps[n].ID
		}
		return hook(ctx, tx, ids)
	}
	return nil
}

func (s *Service) purposesWritten() func(ctx context.Context, tx *store.Tx, purposeIDs []int64) error {
	if fn := s.purposeHook.Load(); fn != nil {
		return *fn
	}
	return nil
}

// PurposePatch is a partial update of a purpose (V1 PUT).
type PurposePatch struct {
	Name                   *string
	Description            *string
	Acknowledgement        *string
	DisplayAcknowledgement *bool
	PolicyMetadata         json.RawMessage // nil: unchanged
	ReAcknowledge          bool
	// ApplyToSubpurposes applies the description and acknowledgement to
	// the sub-purposes too.
	ApplyToSubpurposes bool
}

// UpdatePurpose changes purpose id. Renaming moves its sub-purposes along;
// a purpose that policies use cannot be renamed. It needs GOVERNANCE.
func (s *Service) UpdatePurpose(ctx context.Context, p *auth.Principal, id int64, patch PurposePatch) (*Purpose, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	if patch.Name != nil {
		if err := ValidPurposeName(*patch.Name); err != nil {
			return nil, errs.Field("name", errs.CodeInvalid, "name: %v", err)
		}
	}
	var out *Purpose
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ps, err := loadPurposes(ctx, &tx.Queries)
		if err != nil {
			return err
		}
		cur := ps.byID(id)
		if cur == nil || cur.Deleted {
			return errs.NotFoundf("purpose %d does not exist", id)
		}
		before := map[string]string{}
		for n := range ps {
			before[n] = ps.effective(n)
		}
		touched := map[string]bool{cur.Name: true}
		root := cur.Name
		if patch.Name != nil && *patch.Name != cur.Name {
			if err := s.rename(ctx, tx, ps, before, cur, *patch.Name, touched); err != nil {
				return err
			}
			root = cur.Name
		}
		targets := []*Purpose{cur}
		if patch.ApplyToSubpurposes {
			targets = ps.subtree(root)
		}
		now := store.Now()
		for _, t := range targets {
			if patch.Description != nil {
				t.Description = patch.Description
			}
			if patch.Acknowledgement != nil {
				ack := *patch.Acknowledgement
				t.Acknowledgement = &ack
				if ack == "" {
					t.Acknowledgement = nil // back to the inherited statement
				}
			}
			touched[t.Name] = true
		}
		if patch.DisplayAcknowledgement != nil {
			cur.DisplayAcknowledgement = *patch.DisplayAcknowledgement
		}
		if patch.PolicyMetadata != nil {
			cur.PolicyMetadata = patch.PolicyMetadata
		}
		for n := range touched {
			ps[n].UpdatedAt = now
		}
		s.bumpVersions(ps, before, root, patch.ReAcknowledge, touched)
		if err := s.writePurposes(ctx, tx, ps, touched); err != nil {
			return err
		}
		out = cur
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "purposeUpdate", Success: true, TargetType: "purpose",
			TargetID: strconv.FormatInt(id, 10), Details: map[string]any{"name": cur.Name}})
	})
	if err != nil {
		return nil, err
	}
	return s.decoratePurpose(ctx, out, false)
}

// rename gives cur a new name and moves its sub-purposes along.
func (s *Service) rename(ctx context.Context, tx *store.Tx, ps purposeSet, before map[string]string, cur *Purpose, name string, touched map[string]bool) error {
	old := cur.Name
	if name == old || strings.HasPrefix(name, old+".") {
		return errs.Field("name", errs.CodeInvalid, "name: %q would put purpose %q below itself", name, old)
	}
	if parent := parentName(name); parent != "" && ps.live(parent) == nil {
		return errs.Field("name", errs.CodeNotFound, "name: the parent purpose %q does not exist", parent)
	}
	moving := ps.subtree(old)
	if cur.SystemGenerated {
		return errs.Conflictf("purpose %q is built in and cannot be renamed", old)
	}
	names := map[string]bool{}
	for _, m := range moving {
		names[m.Name] = true
	}
	if users, err := s.purposeUsers(ctx, &tx.Queries, names); err != nil {
		return err
	} else if len(users) > 0 {
		return errs.Conflictf("purpose %q is used by %s; change those first", old, strings.Join(users, ", "))
	}
	for _, m := range moving {
		target := name + strings.TrimPrefix(m.Name, old)
		if other := ps[target]; other != nil && other != m {
			if !other.Deleted {
				return errs.Field("name", errs.CodeUnique, "name: purpose %q already exists", target)
			}
			// A deleted purpose holds the name; free it.
			other.Name = fmt.Sprintf("%s#deleted-%d", other.Name, other.ID)
			if _, err := tx.Exec(ctx, `UPDATE purposes SET name = $2 WHERE id = $1`, other.ID, other.Name); err != nil {
				return err
			}
		}
	}
	for _, m := range moving {
		delete(ps, m.Name)
		delete(touched, m.Name)
	}
	for _, m := range moving {
		oldName := m.Name
		m.Name = name + strings.TrimPrefix(m.Name, old)
		ps[m.Name] = m
		before[m.Name] = before[oldName]
		touched[m.Name] = true
	}
	return nil
}

func (ps purposeSet) byID(id int64) *Purpose {
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// purposeUsers lists the policies (by key) and data sources' own policies
// that name one of the purposes.
func (s *Service) purposeUsers(ctx context.Context, q *store.Queries, names map[string]bool) ([]string, error) {
	sps, err := allPolicies(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	uses := func(refs []reference) bool {
		for _, r := range refs {
			if r.kind == refPurpose && names[r.name] {
				return true
			}
		}
		return false
	}
	for _, sp := range sps {
		p, err := decodeStored(sp)
		if err == nil && uses(policyRefs(p, dialectV2)) {
			out = append(out, fmt.Sprintf("global policy %q", sp.PolicyKey))
		}
	}
	rows, err := q.Query(ctx, `SELECT h.data_source_id, h.json_policies FROM policy_handlers h WHERE h.id IN
		(SELECT MAX(id) FROM policy_handlers GROUP BY data_source_id) ORDER BY h.data_source_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ds int64
		var doc store.JSON
		if err := rows.Scan(&ds, &doc); err != nil {
			return nil, err
		}
		lp, err := policy.DecodeStoredLocalV1(doc)
		if err == nil && uses(localRefs(lp, func(int) string { return "" }, "")) {
			out = append(out, fmt.Sprintf("the policy of data source %d", ds))
		}
	}
	return out, rows.Err()
}

// DeletePurposes deletes a purpose and its sub-purposes (by name with V2,
// by id with V1) and returns them. Built-in purposes and purposes that
// policies use cannot be deleted (409). With dryRun nothing changes. It
// needs GOVERNANCE.
func (s *Service) DeletePurposes(ctx context.Context, p *auth.Principal, id int64, name string, dryRun bool) ([]*Purpose, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	var out []*Purpose
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ps, err := loadPurposes(ctx, &tx.Queries)
		if err != nil {
			return err
		}
		var root *Purpose
		if name != "" {
			root = ps.live(name)
			if root == nil {
				return errs.NotFoundf("purpose %q does not exist", name)
			}
		} else if root = ps.byID(id); root == nil || root.Deleted {
			return errs.NotFoundf("purpose %d does not exist", id)
		}
		out = ps.subtree(root.Name)
		names := map[string]bool{}
		for _, d := range out {
			if d.SystemGenerated {
				return errs.Conflictf("purpose %q is built in and cannot be deleted", d.Name)
			}
			names[d.Name] = true
		}
		users, err := s.purposeUsers(ctx, &tx.Queries, names)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return errs.Conflictf("purpose %q is used by %s; change those first", root.Name, strings.Join(users, ", "))
		}
		if dryRun {
			return audit.Write(ctx, &tx.Queries, audit.Event{Type: "purposeDelete", Action: "dryRun", Success: true,
				TargetType: "purpose", TargetID: strconv.FormatInt(root.ID, 10), Details: map[string]any{"name": root.Name}})
		}
		now := store.Now()
		touched := map[string]bool{}
		for _, d := range out {
			d.Deleted, d.UpdatedAt = true, now
			touched[d.Name] = true
		}
		if err := s.writePurposes(ctx, tx, ps, touched); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "purposeDelete", Success: true, TargetType: "purpose",
			TargetID: strconv.FormatInt(root.ID, 10), Details: map[string]any{"deleted": sortedKeys(names)}})
	})
	return out, err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PurposeByID returns a live purpose, with its sub-purposes when asked. A
// deleted purpose is not found: searches list it with includeDeleted.
func (s *Service) PurposeByID(ctx context.Context, id int64, withSub bool) (*Purpose, error) {
	ps, err := loadPurposes(ctx, &s.db.Queries)
	if err != nil {
		return nil, err
	}
	p := ps.byID(id)
	if p == nil || p.Deleted {
		return nil, errs.NotFoundf("purpose %d does not exist", id)
	}
	if withSub {
		p.Subpurposes = ps.subtree(p.Name)[1:]
	}
	return s.decoratePurpose(ctx, p, withSub)
}

// PurposeByName returns a live purpose with its sub-purposes.
func (s *Service) PurposeByName(ctx context.Context, name string) (*Purpose, error) {
	ps, err := loadPurposes(ctx, &s.db.Queries)
	if err != nil {
		return nil, err
	}
	p := ps.live(name)
	if p == nil {
		return nil, errs.NotFoundf("purpose %q does not exist", name)
	}
	p.Subpurposes = ps.subtree(name)[1:]
	return s.decoratePurpose(ctx, p, true)
}

// decoratePurpose fills the name of who added the purpose (and its
// sub-purposes').
func (s *Service) decoratePurpose(ctx context.Context, p *Purpose, withSub bool) (*Purpose, error) {
	list := []*Purpose{p}
	if withSub {
		list = append(list, p.Subpurposes...)
	}
	return p, s.addedByNames(ctx, list)
}

func (s *Service) addedByNames(ctx context.Context, list []*Purpose) error {
	var ids []int64
	for _, x := range list {
		if x.AddedBy != nil {
			ids = append(ids, *x.AddedBy)
		}
	}
	names, err := userNames(ctx, &s.db.Queries, ids)
	if err != nil {
		return err
	}
	for _, x := range list {
		if x.AddedBy != nil {
			x.AddedByName = names[*x.AddedBy]
		} else if x.SystemGenerated {
			x.AddedByName = "custos"
		}
	}
	return nil
}

// PurposeFilter narrows GET /governance/purpose.
type PurposeFilter struct {
	SearchText     string
	StrictSearch   bool   // SearchText must be the whole name (any case)
	Root           string // only this purpose and those below it
	IncludeDeleted bool
	SortField      string // name (default), createdAt, updatedAt
	Descending     bool
	Offset, Size   int // Size 0: no limit
}

// SearchPurposes returns one page of purposes and their count.
func (s *Service) SearchPurposes(ctx context.Context, f PurposeFilter) ([]*Purpose, int, error) {
	ps, err := loadPurposes(ctx, &s.db.Queries)
	if err != nil {
		return nil, 0, err
	}
	needle := strings.ToLower(f.SearchText)
	var list []*Purpose
	for _, p := range ps {
		name := strings.ToLower(p.Name)
		switch {
		case p.Deleted && !f.IncludeDeleted:
		case f.Root != "" && p.Name != f.Root && !strings.HasPrefix(p.Name, f.Root+"."):
		case needle != "" && f.StrictSearch && name != needle:
		case needle != "" && !strings.Contains(name, needle):
		default:
			list = append(list, p)
		}
	}
	key := func(p *Purpose) string {
		switch f.SortField {
		case "createdAt":
			return p.CreatedAt.UTC().Format(time.RFC3339Nano) + p.Name
		case "updatedAt":
			return p.UpdatedAt.UTC().Format(time.RFC3339Nano) + p.Name
		}
		return strings.ToLower(p.Name)
	}
	sort.SliceStable(list, func(i, j int) bool { return (key(list[i]) < key(list[j])) != f.Descending })
	total := len(list)
	lo := min(f.Offset, total)
	hi := total
	if f.Size > 0 {
		hi = min(lo+f.Size, total)
	}
	page := list[lo:hi]
	return page, total, s.addedByNames(ctx, page)
}

// Purposes returns every live purpose sorted by name, with no sub-purposes
// (each is listed on its own).
func (s *Service) Purposes(ctx context.Context) ([]*Purpose, error) {
	list, _, err := s.SearchPurposes(ctx, PurposeFilter{})
	return list, err
}

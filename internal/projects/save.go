package projects

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// Ref names a purpose or a data source by id or by name.
type Ref struct {
	ID   int64
	Name string
}

// EqualizationInput turns equalization on or off. On without Set limits
// members to what they share now (the recommended entitlements).
type EqualizationInput struct {
	On  bool
	Set *Entitlements
}

// Input is a project as created or updated. A nil field is left as it is
// (V1 updates); V2 saves give every field.
type Input struct {
	Key              *string
	Name             *string
	Status           *string
	Description      *string
	Documentation    *string
	AllowMaskedJoins *bool
	// SetPolicy replaces the subscription policy with Policy (nil: manual).
	SetPolicy bool
	Policy    *SubscriptionPolicy
	// Purposes are the live purposes, StagedPurposes those waiting for a
	// governor's approval (see planPurposes): nil leaves that side alone.
	Purposes       *[]Ref
	StagedPurposes *[]Ref
	DataSources    *[]Ref
	Tags           *[]string
	Equalization   *EqualizationInput
	Deleted        *bool
	// Fields name the payload's fields in errors: purposes, stagedPurposes,
	// dataSources (V1) or datasources (V2), tags.
	PurposesField, StagedPurposesField, DataSourcesField string
}

// Changes says what a save changed.
type Changes struct {
	Creating           bool
	Fields             []string
	Purposes           *purposeChange
	DataSourcesAdded   int
	DataSourcesRemoved int
}

var errDryRun = errors.New("dry run")

// Create creates a project (V1 POST /project); the caller, who needs
// CREATE_PROJECT, becomes its owner.
func (s *Service) Create(ctx context.Context, p *auth.Principal, in Input) (*View, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	if err := p.Require(auth.CreateProject); err != nil {
		return nil, err
	}
	var pr *Project
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		pr, _, err = s.apply(ctx, tx, p, nil, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return s.view(ctx, &s.db.Queries, p, pr)
}

// Update changes a project (V1 PUT /project/{id}): the fields given.
func (s *Service) Update(ctx context.Context, p *auth.Principal, id int64, in Input) (*View, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	var pr *Project
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := load(ctx, &tx.Queries, id)
		if err != nil {
			return err
		}
		if err := s.requireManager(ctx, &tx.Queries, p, cur); err != nil {
			return err
		}
		if cur.Deleted && (in.Deleted == nil || *in.Deleted) {
			return errs.Conflictf("project %q is disabled; restore it with deleted: false to change it", cur.Name)
		}
		pr, _, err = s.apply(ctx, tx, p, cur, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return s.view(ctx, &s.db.Queries, p, pr)
}

// V2Result is the answer of a V2 save.
type V2Result struct {
	DryRun             bool
	Creating           bool
	Updating           bool
	DataSourcesAdded   int
	DataSourcesRemoved int
	ProjectID          *int64
}

// SaveV2 creates or updates the project with in's key to be exactly in
// (V2 POST /api/v2/project): fields left out are cleared, purposes, data
// sources and tags not listed are removed. Creating needs CREATE_PROJECT;
// updating, managing the project. dryRun reports and changes nothing.
func (s *Service) SaveV2(ctx context.Context, p *auth.Principal, in Input, dryRun bool) (*V2Result, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	if in.Key == nil || strings.TrimSpace(*in.Key) == "" {
		return nil, errs.Field("projectKey", errs.CodeRequired, "projectKey is required")
	}
	res := &V2Result{DryRun: dryRun}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := getProjectByKey(ctx, &tx.Queries, strings.TrimSpace(*in.Key))
		if errors.Is(err, store.ErrNotFound) {
			cur = nil
			if err := p.Require(auth.CreateProject); err != nil {
				return err
			}
		} else if err != nil {
			return err
		} else if err := s.requireManager(ctx, &tx.Queries, p, cur); err != nil {
			return err
		}
		if cur != nil && cur.Deleted {
			f := false
			in.Deleted = &f // saving a disabled project's document enables it again
		}
		pr, ch, err := s.apply(ctx, tx, p, cur, in)
		if err != nil {
			return err
		}
		res.Creating, res.Updating = ch.Creating, !ch.Creating
		res.DataSourcesAdded, res.DataSourcesRemoved = ch.DataSourcesAdded, ch.DataSourcesRemoved
		if !dryRun || !ch.Creating {
			id := pr.ID
			res.ProjectID = &id
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			return audit.Write(ctx, &tx.Queries, audit.Event{Type: "projectSave", Action: "dryRun", Success: true,
				TargetType: "project", Details: map[string]any{"projectKey": *in.Key, "creating": res.Creating}})
		})
	} else if err == nil {
		s.synced(ctx)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// apply validates in against the store and writes it over cur (nil:
// create) in tx, with its audit record, notifications and changes.
func (s *Service) apply(ctx context.Context, tx *store.Tx, p *auth.Principal, cur *Project, in Input) (*Project, *Changes, error) {
	q := &tx.Queries
	now := store.Now()
	ch := &Changes{Creating: cur == nil}
	pr := &Project{Status: "open", CreatedBy: &p.UserID, CreatedAt: now}
	if cur != nil {
		c := *cur
		pr = &c
	}
	var l errs.List
	if in.Name != nil {
		pr.Name = strings.TrimSpace(*in.Name)
	}
	if in.Key != nil {
		pr.Key = strings.TrimSpace(*in.Key)
	} else if cur == nil {
		pr.Key = strings.ToLower(pr.Name)
	}
	switch {
	case pr.Name == "":
		l.Add("name", errs.CodeRequired, "name is required")
	case len(pr.Name) > 255:
		l.Add("name", errs.CodeInvalid, "name must be at most 255 characters")
	}
	if pr.Key == "" && pr.Name != "" {
		l.Add("projectKey", errs.CodeRequired, "projectKey is required")
	} else if len(pr.Key) > 255 {
		l.Add("projectKey", errs.CodeInvalid, "projectKey must be at most 255 characters")
	}
	if cur == nil || pr.Key != cur.Key {
		if other, err := getProjectByKey(ctx, q, pr.Key); err == nil && (cur == nil || other.ID != cur.ID) {
			l.Add("projectKey", errs.CodeUnique, "projectKey %q is taken by project %d", pr.Key, other.ID)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
	}
	if in.Status != nil {
		switch st := strings.ToLower(strings.TrimSpace(*in.Status)); st {
		case "open", "closed":
			pr.Status = st
		default:
			l.Add("status", errs.CodeEnum, "status must be open or closed, not %q", *in.Status)
		}
	}
	if in.Description != nil {
		pr.Description = trimmed(in.Description)
	}
	if in.Documentation != nil {
		pr.Documentation = in.Documentation
	}
	if pr.Documentation == nil && cur == nil {
		doc := "# " + pr.Name
		pr.Documentation = &doc
	}
	if in.AllowMaskedJoins != nil {
		pr.AllowMaskedJoins = *in.AllowMaskedJoins
	}
	if in.SetPolicy {
		pr.Policy = in.Policy
		if err := checkGroups(ctx, q, &l, "subscriptionPolicy.entitlements.groups", pr.Policy.groupsNamed()); err != nil {
			return nil, nil, err
		}
	}
	liveIDs, stagedIDs, err := s.resolveAllPurposes(ctx, q, &l, in)
	if err != nil {
		return nil, nil, err
	}
	dsIDs, err := s.resolveDataSources(ctx, q, &l, p, cur, in)
	if err != nil {
		return nil, nil, err
	}
	if in.Tags != nil {
		for i, t := range *in.Tags {
			if err := tags.ValidName(t); err != nil {
				l.Add(fmt.Sprintf("tags[%d]", i), errs.CodeInvalid, "tags[%d]: %v", i, err)
			}
		}
	}
	if e := in.Equalization; e != nil && e.Set != nil {
		if err := checkGroups(ctx, q, &l, "equalization.groups", e.Set.Groups); err != nil {
			return nil, nil, err
		}
	}
	if err := l.Err(); err != nil {
		return nil, nil, err
	}
	// Validated: write.
	eqChanged, err := s.equalize(ctx, q, pr, cur, in.Equalization, now)
	if err != nil {
		return nil, nil, err
	}
	wasDeleted := cur != nil && cur.Deleted
	if in.Deleted != nil {
		pr.Deleted = *in.Deleted
	}
	pr.UpdatedBy, pr.UpdatedAt = &p.UserID, now
	if err := saveProject(ctx, q, pr); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, nil, errs.Field("projectKey", errs.CodeUnique, "projectKey %q is taken", pr.Key)
		}
		return nil, nil, err
	}
	if cur == nil {
		m := &Member{ProjectID: pr.ID, ModelType: modelUser, ModelID: p.UserID, State: stateOwner, ApprovedBy: &p.UserID,
			CreatedAt: now, UpdatedAt: now}
		if err := putMember(ctx, q, m); err != nil {
			return nil, nil, err
		}
	}
	ch.Fields = changedFields(cur, pr)
	ch.Purposes = &purposeChange{}
	if liveIDs != nil || stagedIDs != nil {
		states := purposeStates{}
		if cur != nil {
			if states, err = purposeStatesOf(ctx, q, pr.ID); err != nil {
				return nil, nil, err
			}
		}
		_, ch.Purposes = planPurposes(states, liveIDs, stagedIDs, p.Has(auth.Governance))
		if err := writePurposes(ctx, q, pr.ID, ch.Purposes, &p.UserID, now); err != nil {
			return nil, nil, err
		}
		if ch.Purposes.liveChanged() {
			ch.Fields = append(ch.Fields, "purposes")
		}
		if ch.Purposes.stagedChanged() {
			ch.Fields = append(ch.Fields, "stagedPurposes")
		}
	}
	if dsIDs != nil {
		if ch.DataSourcesAdded, ch.DataSourcesRemoved, err = setDataSources(ctx, q, pr.ID, dsIDs, &p.UserID, now); err != nil {
			return nil, nil, err
		}
		if ch.DataSourcesAdded+ch.DataSourcesRemoved > 0 {
			ch.Fields = append(ch.Fields, "dataSources")
		}
	}
	if in.Tags != nil {
		changed, err := setTags(ctx, q, pr.ID, *in.Tags, &p.UserID, now)
		if err != nil {
			return nil, nil, err
		}
		if changed {
			ch.Fields = append(ch.Fields, "tags")
		}
	}
	if eqChanged {
		ch.Fields = append(ch.Fields, "equalization")
	}
	sort.Strings(ch.Fields)
	// Who acts under the project may act differently now.
	actingChanged := slicesContain(ch.Fields, "purposes") || eqChanged || wasDeleted != pr.Deleted
	if actingChanged && cur != nil {
		if err := touchProjects(ctx, q, KindProjectPurposes, pr.ID); err != nil {
			return nil, nil, err
		}
	}
	if pr.Deleted && !wasDeleted && cur != nil {
		if err := clearCurrent(ctx, q, pr.ID); err != nil {
			return nil, nil, err
		}
	}
	return pr, ch, s.announceSave(ctx, q, p, cur, pr, ch, eqChanged, wasDeleted)
}

// announceSave writes the audit record and the activities of a save.
func (s *Service) announceSave(ctx context.Context, q *store.Queries, p *auth.Principal, cur, pr *Project, ch *Changes,
	eqChanged, wasDeleted bool) error {
	id := pr.ID
	details := ch.Purposes.details()
	details["creating"], details["fields"] = ch.Creating, ch.Fields
	details["dataSourcesAdded"], details["dataSourcesRemoved"] = ch.DataSourcesAdded, ch.DataSourcesRemoved
	if err := audit.Write(ctx, q, audit.Event{Type: "projectSave", Success: true, TargetType: "project", TargetID: idString(id),
		ProjectID: &id, ProjectName: pr.Name, Details: details}); err != nil {
		return err
	}
	uid := p.UserID
	if cur == nil {
		meta := ch.Purposes.counts()
		meta["projectName"] = pr.Name
		to := []int64{uid}
		if len(ch.Purposes.Requested) > 0 {
			governors, err := activity.UsersWith(ctx, q, auth.Governance)
			if err != nil {
				return err
			}
			to = append(to, governors...)
		}
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.ModelCreated, ActionBy: &uid, TargetUser: &uid, Metadata: meta}, to)
	}
	members, err := everyone(ctx, q, id)
	if err != nil {
		return err
	}
	to, err := purposeRecipients(ctx, q, id, ch.Purposes)
	if err != nil {
		return err
	}
	kind := activity.ProjectUpdated
	switch {
	case pr.Deleted && !wasDeleted:
		kind = activity.ProjectDisabled
	case len(ch.Fields) == 0:
		return nil
	}
	meta := ch.Purposes.counts()
	meta["projectName"], meta["fields"] = pr.Name, ch.Fields
	if err := activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id), NotificationType: kind,
		ActionBy: &uid, Metadata: meta}, to); err != nil {
		return err
	}
	if eqChanged {
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.EqualizationToggled, ActionBy: &uid,
			Metadata: map[string]any{"projectName": pr.Name, "equalized": pr.Equalized}}, members)
	}
	return nil
}

// changedFields names the row fields that differ between cur and pr.
func changedFields(cur, pr *Project) []string {
	if cur == nil {
		return nil
	}
	var out []string
	eq := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	add := func(cond bool, f string) {
		if cond {
			out = append(out, f)
		}
	}
	add(cur.Name != pr.Name, "name")
	add(cur.Key != pr.Key, "projectKey")
	add(cur.Status != pr.Status, "status")
	add(!eq(cur.Description, pr.Description), "description")
	add(!eq(cur.Documentation, pr.Documentation), "documentation")
	add(cur.AllowMaskedJoins != pr.AllowMaskedJoins, "allowMaskedJoins")
	add(cur.Deleted != pr.Deleted, "deleted")
	add(!samePolicy(cur.Policy, pr.Policy), "subscriptionPolicy")
	return out
}

func samePolicy(a, b *SubscriptionPolicy) bool {
	ja, _ := jsonOrNil(a, a == nil)
	jb, _ := jsonOrNil(b, b == nil)
	return ja == jb
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resolveAllPurposes checks the purposes in and staged purposes named
// exist and that none is named in both, and returns their ids; nil for a
// list in leaves alone.
func (s *Service) resolveAllPurposes(ctx context.Context, q *store.Queries, l *errs.List, in Input) (live, staged []int64, err error) {
	field := in.PurposesField
	if field == "" {
		field = "purposes"
	}
	stagedField := in.StagedPurposesField
	if stagedField == "" {
		stagedField = "stagedPurposes"
	}
	if live, err = s.resolvePurposes(ctx, q, l, in.Purposes, field); err != nil {
		return nil, nil, err
	}
	if staged, err = s.resolvePurposes(ctx, q, l, in.StagedPurposes, stagedField); err != nil {
		return nil, nil, err
	}
	if live == nil || staged == nil {
		return live, staged, nil
	}
	inLive := map[int64]bool{}
	for _, id := range live {
		inLive[id] = true
	}
	for i, id := range staged {
		if inLive[id] {
			f := fmt.Sprintf("%s[%d]", stagedField, i)
			l.Add(f, errs.CodeUnique, "%s: the purpose is listed in %s too; a purpose is live or staged", f, field)
		}
	}
	return live, staged, nil
}

// resolvePurposes checks the purposes named exist (live) and returns their
// ids; nil when refs is nil.
func (s *Service) resolvePurposes(ctx context.Context, q *store.Queries, l *errs.List, refs *[]Ref, field string) ([]int64, error) {
	if refs == nil {
		return nil, nil
	}
	var names []string
	var ids []int64
	for _, r := range *refs {
		if r.Name != "" {
			names = append(names, r.Name)
		} else {
			ids = append(ids, r.ID)
		}
	}
	byName, err := purposeIDsByName(ctx, q, names)
	if err != nil {
		return nil, err
	}
	live, err := livePurposeIDs(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := []int64{}
	seen := map[int64]bool{}
	for i, r := range *refs {
		f := fmt.Sprintf("%s[%d]", field, i)
		id := r.ID
		if r.Name != "" {
			var ok bool
			if id, ok = byName[r.Name]; !ok {
				l.Add(f, errs.CodeNotFound, "%s: purpose %q does not exist; create it first (POST /api/v2/purpose)", f, r.Name)
				continue
			}
		} else if !live[id] {
			l.Add(f, errs.CodeNotFound, "%s: purpose %d does not exist", f, id)
			continue
		}
		if seen[id] {
			l.Add(f, errs.CodeUnique, "%s: the purpose is listed twice", f)
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}

// resolveDataSources checks the data sources named exist and that the
// caller may add the new ones (they hold access to them, own them, or
// govern); nil when in leaves them alone.
func (s *Service) resolveDataSources(ctx context.Context, q *store.Queries, l *errs.List, p *auth.Principal, cur *Project, in Input) ([]int64, error) {
	if in.DataSources == nil {
		return nil, nil
	}
	field := in.DataSourcesField
	if field == "" {
		field = "dataSources"
	}
	have := map[int64]bool{}
	if cur != nil {
		existing, err := dataSourcesOf(ctx, q, []int64{cur.ID})
		if err != nil {
			return nil, err
		}
		for _, d := range existing[cur.ID] {
			have[d.DataSourceID] = true
		}
	}
	out := []int64{}
	seen := map[int64]bool{}
	for i, r := range *in.DataSources {
		f := fmt.Sprintf("%s[%d]", field, i)
		var d *store.DataSource
		var err error
		if r.Name != "" {
			d, err = q.GetDataSourceByName(ctx, r.Name)
		} else {
			d, err = q.GetDataSource(ctx, r.ID)
		}
		if errors.Is(err, store.ErrNotFound) {
			what := fmt.Sprintf("%q", r.Name)
			if r.Name == "" {
				what = idString(r.ID)
			}
			l.Add(f, errs.CodeNotFound, "%s: data source %s does not exist", f, what)
			continue
		} else if err != nil {
			return nil, err
		}
		if seen[d.ID] {
			l.Add(f, errs.CodeUnique, "%s: data source %q is listed twice", f, d.Name)
			continue
		}
		seen[d.ID] = true
		if !have[d.ID] {
			if why, err := s.mayAdd(ctx, q, p, d); err != nil {
				return nil, err
			} else if why != "" {
				l.Add(f, errs.CodeInvalid, "%s: %s", f, why)
				continue
			}
		}
		out = append(out, d.ID)
	}
	return out, nil
}

// mayAdd says why p may not add a data source to a project ("" when they
// may): it must be enabled, and they must hold access to it, own it or
// govern.
func (s *Service) mayAdd(ctx context.Context, q *store.Queries, p *auth.Principal, d *store.DataSource) (string, error) {
	if d.Status != store.DataSourceEnabled {
		return fmt.Sprintf("data source %q is disabled", d.Name), nil
	}
	if p.Has(auth.Governance) {
		return "", nil
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM data_source_access WHERE data_source_id = $1 AND state = 'owner'
		AND (expiration IS NULL OR expiration > $3) AND ((model_type = 'user' AND model_id = $2)
		OR (model_type = 'group' AND model_id IN (SELECT group_id FROM group_members WHERE user_id = $2)))`,
		d.ID, p.UserID, store.Now()).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 || s.eng == nil {
		return "", nil
	}
	grants, err := s.eng.GrantsOf(ctx, p.UserID)
	if err != nil {
		return "", err
	}
	if grants[d.ID] != "" {
		return "", nil
	}
	return fmt.Sprintf("you have no access to data source %q: only data sources you can query (or own) can be added", d.Name), nil
}

// checkGroups records a notFound problem for each group name no identity
// manager has.
func checkGroups(ctx context.Context, q *store.Queries, l *errs.List, field string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	var a store.Args
	known, err := q.Query(ctx, `SELECT DISTINCT name FROM groups WHERE name IN `+store.List(&a, names), a...)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for known.Next() {
		var n string
		if err := known.Scan(&n); err != nil {
			known.Close()
			return err
		}
		have[n] = true
	}
	known.Close()
	if err := known.Err(); err != nil {
		return err
	}
	for i, n := range names {
		if !have[n] {
			l.Add(fmt.Sprintf("%s[%d]", field, i), errs.CodeNotFound, "%s[%d]: group %q does not exist", field, i, n)
		}
	}
	return nil
}

// setDataSources makes the project's data sources exactly ids.
func setDataSources(ctx context.Context, q *store.Queries, projectID int64, ids []int64, by *int64, now time.Time) (added, removed int, err error) {
	cur, err := dataSourcesOf(ctx, q, []int64{projectID})
	if err != nil {
		return 0, 0, err
	}
	want := map[int64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	have := map[int64]bool{}
	for _, d := range cur[projectID] {
		have[d.DataSourceID] = true
		if !want[d.DataSourceID] {
			if _, err := q.Exec(ctx, `DELETE FROM project_data_sources WHERE project_id = $1 AND data_source_id = $2`,
				projectID, d.DataSourceID); err != nil {
				return 0, 0, err
			}
			removed++
		}
	}
	for _, id := range ids {
		if have[id] {
			continue
		}
		if _, err := q.Exec(ctx, `INSERT INTO project_data_sources (project_id, data_source_id, added_by, created_at)
			VALUES ($1, $2, $3, $4)`, projectID, id, by, now); err != nil {
			return 0, 0, err
		}
		added++
	}
	return added, removed, nil
}

// setTags makes the project's tags exactly names, creating tags that do
// not exist yet.
func setTags(ctx context.Context, q *store.Queries, projectID int64, names []string, by *int64, now time.Time) (bool, error) {
	id := idString(projectID)
	cur, err := q.TagsOfModels(ctx, "project", []string{id})
	if err != nil {
		return false, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	have := map[string]bool{}
	changed := false
	for _, mt := range cur[id] {
		have[mt.Tag.Name] = true
		if !want[mt.Tag.Name] {
			if _, err := q.DetachTag(ctx, "project", id, mt.Tag.ID); err != nil {
				return false, err
			}
			changed = true
		}
	}
	for _, n := range names {
		if have[n] {
			continue
		}
		have[n] = true
		t, err := tags.Ensure(ctx, q, n, by, false, now)
		if err != nil {
			return false, err
		}
		if _, err := q.AttachTag(ctx, &store.ModelTag{ModelType: "project", ModelID: id, Tag: t, Source: tags.SourceCurated,
			Context: "project", AddedBy: by, CreatedAt: now}); err != nil {
			return false, err
		}
		changed = true
	}
	if changed {
		return true, q.AppendChange(ctx, "tagAttached", "project", id)
	}
	return false, nil
}

// clearCurrent makes every user acting under a project act under none.
func clearCurrent(ctx context.Context, q *store.Queries, projectID int64) error {
	users, err := actingUsers(ctx, q, projectID)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `UPDATE users SET current_project_id = NULL WHERE current_project_id = $1`, projectID); err != nil {
		return err
	}
	return touchUsers(ctx, q, KindCurrentProject, users...)
}

// Delete is the V1 disable-then-delete: a project is disabled first (its
// members stop acting under it), and deleted for good when deleted again.
// It reports whether it deleted for good.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id int64) (bool, error) {
	hard := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		pr, err := load(ctx, &tx.Queries, id)
		if err != nil {
			return err
		}
		if err := s.requireManager(ctx, &tx.Queries, p, pr); err != nil {
			return err
		}
		hard = pr.Deleted
		return s.remove(ctx, tx, p, pr, hard)
	})
	if err == nil {
		s.synced(ctx)
	}
	return hard, err
}

// DeleteByKey disables a project, or deletes it for good with hard (V2
// DELETE /api/v2/project/{key}); dryRun checks and changes nothing.
func (s *Service) DeleteByKey(ctx context.Context, p *auth.Principal, key string, dryRun, hard bool) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		pr, err := getProjectByKey(ctx, &tx.Queries, key)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("the project key %q was not found", key)
		} else if err != nil {
			return err
		}
		if err := s.requireManager(ctx, &tx.Queries, p, pr); err != nil {
			return err
		}
		if dryRun {
			return audit.Write(ctx, &tx.Queries, audit.Event{Type: "projectDelete", Action: "dryRun", Success: true,
				TargetType: "project", TargetID: idString(pr.ID), Details: map[string]any{"projectKey": key, "hardDelete": hard}})
		}
		return s.remove(ctx, tx, p, pr, hard)
	})
	if err == nil && !dryRun {
		s.synced(ctx)
	}
	return err
}

// remove disables pr, or deletes it for good with hard.
func (s *Service) remove(ctx context.Context, tx *store.Tx, p *auth.Principal, pr *Project, hard bool) error {
	q := &tx.Queries
	id := pr.ID
	uid := p.UserID
	members, err := everyone(ctx, q, id)
	if err != nil {
		return err
	}
	if err := clearCurrent(ctx, q, id); err != nil {
		return err
	}
	if !hard {
		if pr.Deleted {
			return audit.Write(ctx, q, audit.Event{Type: "projectDelete", Success: true, TargetType: "project",
				TargetID: idString(id), ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"hardDelete": false}})
		}
		pr.Deleted, pr.UpdatedBy, pr.UpdatedAt = true, &uid, store.Now()
		if err := saveProject(ctx, q, pr); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, audit.Event{Type: "projectDelete", Success: true, TargetType: "project",
			TargetID: idString(id), ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"hardDelete": false}}); err != nil {
			return err
		}
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.ProjectDisabled, ActionBy: &uid, Metadata: map[string]any{"projectName": pr.Name}}, members)
	}
	if _, err := q.Exec(ctx, `DELETE FROM model_tags WHERE model_type = 'project' AND model_id = $1`, idString(id)); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id); err != nil {
		return err
	}
	if err := audit.Write(ctx, q, audit.Event{Type: "projectDelete", Success: true, TargetType: "project",
		TargetID: idString(id), ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"hardDelete": true}}); err != nil {
		return err
	}
	return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
		NotificationType: activity.ModelDeleted, ActionBy: &uid, Metadata: map[string]any{"projectName": pr.Name,
			"fields": map[string]any{"deleted": true}}}, members)
}

// Rename changes a project's key (V2 rename).
func (s *Service) Rename(ctx context.Context, p *auth.Principal, oldKey, newKey string) error {
	newKey = strings.TrimSpace(newKey)
	if newKey == "" {
		return errs.Field("newProjectKey", errs.CodeRequired, "newProjectKey is required")
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := getProjectByKey(ctx, q, oldKey)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("the project key %q was not found", oldKey)
		} else if err != nil {
			return err
		}
		if err := s.requireManager(ctx, q, p, pr); err != nil {
			return err
		}
		if other, err := getProjectByKey(ctx, q, newKey); err == nil && other.ID != pr.ID {
			return errs.Field("newProjectKey", errs.CodeUnique, "newProjectKey: the project key %q is taken", newKey)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		pr.Key, pr.UpdatedBy, pr.UpdatedAt = newKey, &p.UserID, store.Now()
		if err := saveProject(ctx, q, pr); err != nil {
			return err
		}
		id := pr.ID
		return audit.Write(ctx, q, audit.Event{Type: "projectRename", Success: true, TargetType: "project", TargetID: idString(id),
			ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"oldProjectKey": oldKey, "newProjectKey": newKey}})
	})
}

// Get returns a project with the caller's membership. Every user may read
// projects.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (*View, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	pr, err := load(ctx, &s.db.Queries, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, &s.db.Queries, p, pr)
}

// GetByKey returns a project by key.
func (s *Service) GetByKey(ctx context.Context, p *auth.Principal, key string) (*View, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	pr, err := getProjectByKey(ctx, &s.db.Queries, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("the project key %q was not found", key)
	} else if err != nil {
		return nil, err
	}
	return s.view(ctx, &s.db.Queries, p, pr)
}

// All returns every project (disabled ones included), sorted by key.
func (s *Service) All(ctx context.Context, p *auth.Principal) ([]*View, error) {
	list, err := allProjects(ctx, &s.db.Queries)
	if err != nil {
		return nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return s.views(ctx, &s.db.Queries, p, list)
}

// Package projects owns projects: people (members, who join as the
// project's subscription policy allows) working with data sources under
// purposes. A member who has acknowledged the statements of a project's
// purposes and makes it their current project acts under those purposes:
// the engine's purpose exceptions and Purpose Restriction rules see them,
// in decisions and in every enforced database, through the acting source
// this package gives the governance service. An equalized project also
// limits what its members act with to the entitlements they share; the
// limit only takes access away: restrictions their own entitlements bring
// still apply (policy.Entitlements.Applies).
//
// Data sources added to a project keep their own subscription policies: a
// member gets no access to a data source by joining.
package projects

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

const (
	modelUser  = "user"
	modelGroup = "group"
)

// Engine is what the service needs of the policy engine (the governance
// service).
type Engine interface {
	// Entitlements are what users act with now (their current project
	// applied); OwnEntitlements what they hold themselves.
	Entitlements(ctx context.Context, userIDs []int64) (map[int64]policy.User, error)
	OwnEntitlements(userIDs []int64) map[int64]policy.User
	Plan(dataSourceID int64) (*policy.Plan, bool)
	GrantsOf(ctx context.Context, userID int64) (map[int64]string, error)
	PurposeByID(ctx context.Context, id int64, withSub bool) (*governance.Purpose, error)
	// Sync applies the change log, so that a user's next decision sees
	// what this service just changed.
	Sync(ctx context.Context) error
}

// Options tune the service.
type Options struct {
	Log *slog.Logger
	// ExpiryInterval is how often expired memberships are looked for;
	// default one second.
	ExpiryInterval time.Duration
}

// Service implements projects.
type Service struct {
	db   *store.DB
	eng  Engine
	opts Options
	log  *slog.Logger
}

// New returns the service; SetEngine plugs in the policy engine before it
// serves (the engine, in turn, asks the service what users act under).
func New(db *store.DB, opts Options) *Service {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.ExpiryInterval <= 0 {
		opts.ExpiryInterval = time.Second
	}
	return &Service{db: db, opts: opts, log: opts.Log}
}

// SetEngine plugs in the policy engine.
func (s *Service) SetEngine(eng Engine) { s.eng = eng }

// Exists reports whether a project exists and is enabled: the check of
// project-scoped API keys.
func Exists(ctx context.Context, q *store.Queries, id int64) (bool, error) {
	p, err := getProject(ctx, q, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && !p.Deleted, err
}

// CheckTagModel is the tag model of projects: the project must exist and
// the caller manage it.
func (s *Service) CheckTagModel(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
	n, ok := parseID(id)
	if !ok {
		return "", errs.BadRequestf("a project id is a number, not %q", id)
	}
	pr, err := load(ctx, q, n)
	if err != nil {
		return "", err
	}
	if err := s.requireManager(ctx, q, p, pr); err != nil {
		return "", err
	}
	return idString(n), nil
}

func parseID(s string) (int64, bool) {
	var n int64
	for _, r := range s {
		if r < '0' || r > '9' || n > 1e17 {
			return 0, false
		}
		n = n*10 + int64(r-'0')
	}
	return n, s != ""
}

// load returns a project or a 404.
func load(ctx context.Context, q *store.Queries, id int64) (*Project, error) {
	p, err := getProject(ctx, q, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("project %d does not exist", id)
	}
	return p, err
}

// loadEnabled returns a project that is not disabled, or an error.
func loadEnabled(ctx context.Context, q *store.Queries, id int64) (*Project, error) {
	p, err := load(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if p.Deleted {
		return nil, errs.Conflictf("project %q is disabled; restore it (PUT /project/%d with deleted: false) first", p.Name, id)
	}
	return p, nil
}

// isOwner reports whether a user is an active owner of a project, directly
// or through a group.
func isOwner(ctx context.Context, q *store.Queries, projectID, userID int64) (bool, error) {
	rows, err := membershipsOf(ctx, q, userID, []int64{projectID})
	if err != nil {
		return false, err
	}
	now := store.Now()
	for _, m := range rows {
		if m.State == stateOwner && m.active(now) {
			return true, nil
		}
	}
	return false, nil
}

// manages reports whether p manages the project: governors, holders of
// PROJECT_MANAGEMENT and its owners.
func (s *Service) manages(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project) (bool, error) {
	if p.Has(auth.Governance) || p.Has(auth.ProjectManagement) {
		return true, nil
	}
	return isOwner(ctx, q, pr.ID, p.UserID)
}

func (s *Service) requireManager(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project) error {
	ok, err := s.manages(ctx, q, p, pr)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Forbiddenf("only the owners of project %q, governors and holders of PROJECT_MANAGEMENT may change it", pr.Name)
	}
	return nil
}

// owners lists the users owning a project, directly or through a group.
func owners(ctx context.Context, q *store.Queries, projectID int64) ([]int64, error) {
	return store.Int64s(q.Query(ctx, `SELECT model_id FROM project_members WHERE project_id = $1 AND state = 'owner'
		AND model_type = 'user' AND (expiration IS NULL OR expiration > $2)
		UNION SELECT gm.user_id FROM project_members m JOIN group_members gm ON gm.group_id = m.model_id
		WHERE m.project_id = $1 AND m.state = 'owner' AND m.model_type = 'group' AND (m.expiration IS NULL OR m.expiration > $2)`,
		projectID, store.Now()))
}

// memberUsers lists the users who are active members of a project, with the
// row that makes them one (their own before a group's).
func memberUsers(ctx context.Context, q *store.Queries, projectID int64) (map[int64]*Member, error) {
	rows, err := membersOf(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	out := map[int64]*Member{}
	for _, m := range rows {
		if !m.active(now) || m.ModelType != modelUser {
			continue
		}
		out[m.ModelID] = m
	}
	for _, m := range rows {
		if !m.active(now) || m.ModelType != modelGroup {
			continue
		}
		users, err := store.Int64s(q.Query(ctx, `SELECT user_id FROM group_members WHERE group_id = $1`, m.ModelID))
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if out[u] == nil {
				out[u] = m
			}
		}
	}
	return out, nil
}

// recipients lists who hears of a change to a membership row: its user (or
// the group's members) and the project's owners.
func (s *Service) recipients(ctx context.Context, q *store.Queries, m *Member) ([]int64, error) {
	out, err := owners(ctx, q, m.ProjectID)
	if err != nil {
		return nil, err
	}
	if m.ModelType == modelUser {
		return append(out, m.ModelID), nil
	}
	users, err := store.Int64s(q.Query(ctx, `SELECT user_id FROM group_members WHERE group_id = $1`, m.ModelID))
	return append(out, users...), err
}

// everyone lists the users who hear of changes to a project: its members.
func everyone(ctx context.Context, q *store.Queries, projectID int64) ([]int64, error) {
	m, err := memberUsers(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out, nil
}

// fresh applies the change log before the engine is asked about users, so
// that what was just changed elsewhere (a new user, a group) counts.
func (s *Service) fresh(ctx context.Context) error {
	if s.eng == nil {
		return nil
	}
	return s.eng.Sync(ctx)
}

// synced applies the change log after a write, so that the writer's next
// decision sees it; a failure is left to the loop.
func (s *Service) synced(ctx context.Context) {
	if s.eng == nil {
		return
	}
	if err := s.eng.Sync(ctx); err != nil {
		s.log.Warn("apply a project change to the policy engine", "error", err)
	}
}

// trimmed trims s; empty text is no text.
func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

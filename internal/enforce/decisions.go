// Package enforce pushes custos's decisions into the platforms it governs.
// It serves the Integrations API (Service): integrations are created,
// validated, updated and removed here; a PostgreSQL integration is run live
// (package postgres renders and reconciles, package pgsql renders), the other
// documented platforms are validated, stored and reported as not connected.
//
// Enforcement reads the policy side through Decisions, which the governance
// service implements, and the catalog (data sources, columns, connections,
// users' database roles) from the store. Changes arrive through
// Decisions.Subscribe and SubscribeUsers; they become pending work in the
// store and a persisted, leased job per integration pushes it, so one server
// at a time pushes to a database and nothing is lost when a server stops.
package enforce

import (
	"context"

	"github.com/custosdata/custos/internal/policy"
)

// Decisions is what enforcement needs from the policy side.
type Decisions interface {
	// Plan returns the current plan of a data source (nil, false when the data
	// source is unknown, disabled, or has no plan yet).
	Plan(dataSourceID int64) (*policy.Plan, bool)

	// Grants lists who may read or write a data source right now: owners,
	// experts and subscribers whose subscription has not expired (a group's
	// subscription counts for each member), and every user an automatic
	// subscription policy admits. WRITE implies READ. Disabled users excluded.
	Grants(ctx context.Context, dataSourceID int64) ([]Grant, error)

	// Entitlements returns, for the given users (all enabled users when ids is
	// nil), what the engine evaluates them with: user name, groups, attributes
	// (their own merged with their groups') and the purposes they act under
	// (their current project's; none until projects exist).
	Entitlements(ctx context.Context, userIDs []int64) (map[int64]policy.User, error)

	// Subscribe registers fn, called asynchronously (possibly batched) with the
	// ids of data sources whose plan or grants may have changed, and with a
	// nil slice when anything may have changed (for instance after a reload).
	// Entitlement changes (groups, attributes, purposes, sqlUser, disabled)
	// are announced through SubscribeUsers.
	Subscribe(fn func(dataSourceIDs []int64))

	// SubscribeUsers registers fn, called asynchronously with the ids of users
	// whose entitlements, database role (profile sqlUser) or enabled state may
	// have changed; nil means all users.
	SubscribeUsers(fn func(userIDs []int64))
}

// Grant is one user's access to one data source.
type Grant struct {
	UserID      int64
	AccessGrant string // "READ" or "WRITE"
}

package policy

import "time"

// DataSource is what the engine needs to know about a data source to decide
// which policies apply and how.
type DataSource struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Server is the connection string the data source lives on
	// (e.g. "db.example.com:5432/tpc"), matched by server circumstances.
	Server    string    `json:"server,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// Tags are the data source's own tags (not its columns').
	Tags        []string  `json:"tags,omitempty"`
	OwnerUsers  []UserRef `json:"ownerUsers,omitempty"`
	OwnerGroups []string  `json:"ownerGroups,omitempty"`
	// EventTimeColumn is needed by Time Restriction rules.
	EventTimeColumn string `json:"eventTimeColumn,omitempty"`
	// HighCardinalityColumn drives Minimization; without it rows are hashed whole.
	HighCardinalityColumn string   `json:"highCardinalityColumn,omitempty"`
	Columns               []Column `json:"columns"`
	// AppliedPolicies are the global policies with "circumstances: null" that
	// the data source's owners applied to it.
	AppliedPolicies []int64 `json:"appliedPolicies,omitempty"`
	// Local is the data source's own policy (policy handler), if any.
	Local *LocalPolicy `json:"-"`
}

// Column is a column of a data source.
type Column struct {
	Name string   `json:"name"`
	Type string   `json:"type,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

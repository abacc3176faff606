package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditRecord is one entry of the audit trail.
type AuditRecord struct {
	ID             string
	DateTime       time.Time
	RecordType     string
	Action         *string
	Success        bool
	FailureReason  *string
	ProfileID      *int64
	UserID         *string
	IAMID          *string
	ImpersonatorID *int64
	TargetType     *string
	TargetID       *string
	DataSourceID   *int64
	DataSourceName *string
	ProjectID      *int64
	ProjectName    *string
	PolicyID       *int64
	PolicyName     *string
	SQLUser        *string
	RequestID      *string
	Method         *string
	Path           *string
	RemoteAddr     *string
	Details        JSON
}

const auditColumns = `id, date_time, record_type, action, success, failure_reason, profile_id, userid, iamid,
	impersonator_id, target_type, target_id, data_source_id, data_source_name, project_id, project_name, policy_id,
	policy_name, sql_user, request_id, method, path, remote_addr, details`

func scanAudit(row interface{ Scan(...any) error }) (*AuditRecord, error) {
	var r AuditRecord
	err := row.Scan(&r.ID, &r.DateTime, &r.RecordType, &r.Action, &r.Success, &r.FailureReason, &r.ProfileID,
		&r.UserID, &r.IAMID, &r.ImpersonatorID, &r.TargetType, &r.TargetID, &r.DataSourceID, &r.DataSourceName,
		&r.ProjectID, &r.ProjectName, &r.PolicyID, &r.PolicyName, &r.SQLUser, &r.RequestID, &r.Method, &r.Path,
		&r.RemoteAddr, &r.Details)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &r, err
}

// InsertAudit appends a record to the trail.
func (q *Queries) InsertAudit(ctx context.Context, r *AuditRecord) error {
	_, err := q.Exec(ctx, `INSERT INTO audit_records (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
		$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		r.ID, r.DateTime, r.RecordType, r.Action, r.Success, r.FailureReason, r.ProfileID, r.UserID, r.IAMID,
		r.ImpersonatorID, r.TargetType, r.TargetID, r.DataSourceID, r.DataSourceName, r.ProjectID, r.ProjectName,
		r.PolicyID, r.PolicyName, r.SQLUser, r.RequestID, r.Method, r.Path, r.RemoteAddr, r.Details)
	return err
}

// GetAudit returns one record.
func (q *Queries) GetAudit(ctx context.Context, id string) (*AuditRecord, error) {
	return scanAudit(q.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit_records WHERE id = $1`, id))
}

// AuditFilter narrows an audit search. Empty fields do not filter.
type AuditFilter struct {
	DataSourceIDs []int64
	ProjectIDs    []int64
	ProfileIDs    []int64
	RecordTypes   []string
	Success       *bool
	MinDate       *time.Time
	MaxDate       *time.Time
	TargetType    string
	TargetID      string
	SortField     string // dateTime (default), recordType, profileId
	Descending    bool
	Offset, Size  int
}

// SearchAudit returns one page of records matching f and the total count.
func (q *Queries) SearchAudit(ctx context.Context, f AuditFilter) ([]*AuditRecord, int, error) {
	var a Args
	var conds []string
	if len(f.DataSourceIDs) > 0 {
		conds = append(conds, `data_source_id IN `+List(&a, f.DataSourceIDs))
	}
	if len(f.ProjectIDs) > 0 {
		conds = append(conds, `project_id IN `+List(&a, f.ProjectIDs))
	}
	if len(f.ProfileIDs) > 0 {
		conds = append(conds, `profile_id IN `+List(&a, f.ProfileIDs))
	}
	if len(f.RecordTypes) > 0 {
		conds = append(conds, `record_type IN `+List(&a, f.RecordTypes))
	}
	if f.Success != nil {
		conds = append(conds, `success = `+a.Add(*f.Success))
	}
	if f.MinDate != nil {
		conds = append(conds, `date_time >= `+a.Add(*f.MinDate))
	}
	if f.MaxDate != nil {
		conds = append(conds, `date_time <= `+a.Add(*f.MaxDate))
	}
	if f.TargetType != "" {
		conds = append(conds, `target_type = `+a.Add(f.TargetType))
	}
	if f.TargetID != "" {
		conds = append(conds, `target_id = `+a.Add(f.TargetID))
	}
	where := Where(conds)
	var total int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM audit_records`+where, a...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := map[string]string{"dateTime": "date_time", "recordType": "record_type", "profileId": "profile_id"}[f.SortField]
	if order == "" {
		order = "date_time"
	}
	dir := "ASC"
	if f.Descending {
		dir = "DESC"
	}
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT %s FROM audit_records%s ORDER BY %s %s, date_time %s, id %s LIMIT %s OFFSET %s`,
		auditColumns, where, order, dir, dir, dir, a.Add(f.Size), a.Add(f.Offset)), a...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

package store

import (
	"context"
	"time"
)

// AuditAfter returns, oldest first, up to limit audit records that come
// after the record (afterTime, afterID) in (date_time, id) order and are
// no newer than until. It is the read an exporter resumes from.
func (q *Queries) AuditAfter(ctx context.Context, afterTime time.Time, afterID string, until time.Time, limit int) ([]*AuditRecord, error) {
	rows, err := q.Query(ctx, `SELECT `+auditColumns+` FROM audit_records
		WHERE date_time >= $1 AND (date_time > $1 OR id > $2) AND date_time <= $3
		ORDER BY date_time, id LIMIT $4`, afterTime, afterID, until, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

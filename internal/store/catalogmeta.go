package store

import "context"

// SetCatalogMetadata stores a data source's catalogMetadata; nil removes it.
func (q *Queries) SetCatalogMetadata(ctx context.Context, dataSourceID int64, metadata JSON) error {
	if _, err := q.Exec(ctx, `DELETE FROM data_source_catalog_metadata WHERE data_source_id = $1`, dataSourceID); err != nil {
		return err
	}
	if metadata == nil {
		return nil
	}
	_, err := q.Exec(ctx, `INSERT INTO data_source_catalog_metadata (data_source_id, metadata) VALUES ($1, $2)`,
		dataSourceID, metadata)
	return err
}

// CatalogMetadataOf returns the catalogMetadata of the data sources that
// have one, by data source id.
func (q *Queries) CatalogMetadataOf(ctx context.Context, ids []int64) (map[int64]JSON, error) {
	out := map[int64]JSON{}
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT data_source_id, metadata FROM data_source_catalog_metadata WHERE data_source_id IN `+
		List(&a, ids), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var m JSON
		if err := rows.Scan(&id, &m); err != nil {
			return nil, err
		}
		out[id] = m
	}
	return out, rows.Err()
}

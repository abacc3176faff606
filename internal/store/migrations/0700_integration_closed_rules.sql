-- The rules enforcement closed on each data source (JSON list of
-- {source, column, reason}): rules that cannot apply as written, whose
-- users see no row or the column as NULL instead.
ALTER TABLE integration_sources ADD COLUMN closed {{json}};

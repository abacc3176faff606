-- The transaction that wrote each change, on PostgreSQL: a follower asks
-- for the changes written by transactions not yet finished when it last
-- read, so a change whose transaction commits late is never skipped
-- however long the transaction stays open. SQLite commits one writer at a
-- time, in id order, and leaves the column empty.
ALTER TABLE changes ADD COLUMN writer_xid {{writerxid}};
CREATE INDEX changes_writer_xid ON changes (writer_xid);

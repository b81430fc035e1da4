-- Nothing reads the outbox by not_before (a claim scans the primary key in
-- id order, or looks messages up by id), and its entries were one more index
-- write on every message queued and every retry.
DROP INDEX outbox_due;
-- A claim updates leased_until and attempts. With room left on each page
-- the new row version stays on the page (a HOT update): no index entries,
-- and the WAL carries the changed bytes instead of the ~1.7 KB payload again.
ALTER TABLE outbox SET (fillfactor = 50);

-- Nothing reads the outbox by not_before (a claim scans the primary key in
-- id order, or looks messages up by id), and its entries were one more index
-- write on every message queued and every retry.
DROP INDEX outbox_due;

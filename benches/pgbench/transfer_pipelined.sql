-- The same transfer in two pipelines (BEGIN with the locked read; both UPDATEs, the
-- ledger INSERT and COMMIT together): 2 round trips, one Sync each.
-- Run with -M prepared and -D accounts=1000000 (every account) or -D accounts=10 (hot rows).
\set a random(1, :accounts)
\set b random(1, :accounts)
\startpipeline
BEGIN;
SELECT id, balance FROM txkit_bench_accounts WHERE id IN (:a, :b) ORDER BY id FOR UPDATE;
\endpipeline
\startpipeline
UPDATE txkit_bench_accounts SET balance = balance - 1 WHERE id = :a;
UPDATE txkit_bench_accounts SET balance = balance + 1 WHERE id = :b;
INSERT INTO txkit_bench_ledger (from_id, to_id, cents) VALUES (:a, :b, 1);
COMMIT;
\endpipeline

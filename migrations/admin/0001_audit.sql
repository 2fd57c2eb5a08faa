-- Audit log of the admin worker (src/admin/audit.ts): one row per mutating call, refused ones included.
-- `actor` is a token id from ADMIN_TOKENS (or "hook" for the upload hook), never a token.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,          -- ISO 8601, UTC
  actor TEXT NOT NULL,
  action TEXT NOT NULL,      -- purge, block, unblock, delete, hook
  request TEXT NOT NULL,     -- JSON: what was asked (paths, reason, dry_run, keys)
  result TEXT NOT NULL,      -- ok, partial, failed, refused, invalid
  status INTEGER NOT NULL,   -- HTTP status answered
  detail TEXT                -- JSON: what was done (purged URLs, denylist keys, deleted objects) or why not
);
CREATE INDEX audit_by_action ON audit (action, id);
CREATE INDEX audit_by_actor ON audit (actor, id);

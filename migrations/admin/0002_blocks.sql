-- The block model (docs/admin.md, "The block model"): explicit blocks are rows; the denylist keys the cache worker
-- checks are computed from them (the union of `keys`) and published to KV as one document (src/admin/denylistStore.ts).
CREATE TABLE blocks (
  subject TEXT PRIMARY KEY,  -- what was blocked explicitly: path:<hash> or object:<key>
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,       -- token id, never a token
  at TEXT NOT NULL,          -- ISO 8601, UTC, of the latest block of this subject
  keys TEXT NOT NULL,        -- JSON array of the denylist keys this block implies (path:, log:, object:)
  audit_id INTEGER           -- the audit row of the call that (last) blocked it
);

-- One row: `version` grows with every change to `blocks` (in the same transaction); `published_version` is the
-- newest version written to KV. The cron trigger republishes while published_version < version.
CREATE TABLE denylist_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  published_version INTEGER NOT NULL,
  published_at TEXT
);
INSERT INTO denylist_state (id, version, published_version) VALUES (1, 0, 0);

-- The upload hook's replay protection: per bucket and key, the largest S3 event `sequencer` seen. An event whose
-- sequencer is not larger is a duplicate (a retry or a replay) and is ignored.
CREATE TABLE hook_events (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  sequencer TEXT NOT NULL,   -- hex, compared after left-padding to equal length (S3's rule)
  at TEXT NOT NULL,
  PRIMARY KEY (bucket, key)
);

-- Audit rows are written first as 'pending' (the intent) and completed when the call ends.
ALTER TABLE audit ADD COLUMN completed_at TEXT;

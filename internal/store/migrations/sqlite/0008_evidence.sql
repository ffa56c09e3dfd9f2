-- The evidence locker: one row per item collected for an incident. The
-- file itself is a content-addressed blob under <data>/evidence, named by
-- its SHA-256, so the same file collected twice is stored once.
--
-- Chain of custody is kept as audit events (evidence.added, .downloaded,
-- .handed_over, .verified, .purged) in the hash-chained events table, so
-- the custody record is as tamper-evident as everything else;
-- evidence_custody only indexes which events belong to which item and who
-- holds it after each.

CREATE TABLE evidence (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    sha256       TEXT    NOT NULL,
    sha1         TEXT    NOT NULL,
    md5          TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    file_name    TEXT    NOT NULL,
    media_type   TEXT    NOT NULL,
    collected_by TEXT    NOT NULL,            -- a person, not always a user (a vendor's engineer)
    collected_at INTEGER,
    source_host  TEXT    NOT NULL DEFAULT '',
    source_path  TEXT    NOT NULL DEFAULT '',
    description  TEXT    NOT NULL DEFAULT '',
    created_by   INTEGER NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    purged_at    INTEGER,                     -- set once, by the retention command only
    purged_by    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX evidence_incident ON evidence(incident_id, id);
CREATE INDEX evidence_sha256 ON evidence(sha256);

-- Evidence is never changed or deleted. The one change allowed is the
-- retention purge marking a row purged, once: the row stays, with its
-- hashes and name, as the record that the item existed and was disposed of.
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence
BEGIN SELECT RAISE(ABORT, 'evidence is never deleted'); END;
CREATE TRIGGER evidence_only_purge BEFORE UPDATE ON evidence
WHEN OLD.purged_at IS NOT NULL OR NEW.purged_at IS NULL OR NEW.purged_by = ''
  OR NEW.id IS NOT OLD.id OR NEW.incident_id IS NOT OLD.incident_id
  OR NEW.sha256 IS NOT OLD.sha256 OR NEW.sha1 IS NOT OLD.sha1 OR NEW.md5 IS NOT OLD.md5
  OR NEW.size IS NOT OLD.size OR NEW.file_name IS NOT OLD.file_name OR NEW.media_type IS NOT OLD.media_type
  OR NEW.collected_by IS NOT OLD.collected_by OR NEW.collected_at IS NOT OLD.collected_at
  OR NEW.source_host IS NOT OLD.source_host OR NEW.source_path IS NOT OLD.source_path
  OR NEW.description IS NOT OLD.description OR NEW.created_by IS NOT OLD.created_by
  OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'evidence is never changed; only the retention purge may mark it purged'); END;

CREATE TABLE evidence_custody (
    event_id    INTEGER PRIMARY KEY REFERENCES events(id),
    evidence_id INTEGER NOT NULL REFERENCES evidence(id),
    custodian   TEXT    NOT NULL              -- who holds the item after this event
);
CREATE INDEX evidence_custody_evidence ON evidence_custody(evidence_id, event_id);
CREATE TRIGGER evidence_custody_append_only_update BEFORE UPDATE ON evidence_custody
BEGIN SELECT RAISE(ABORT, 'custody records are append-only'); END;
CREATE TRIGGER evidence_custody_append_only_delete BEFORE DELETE ON evidence_custody
BEGIN SELECT RAISE(ABORT, 'custody records are append-only'); END;

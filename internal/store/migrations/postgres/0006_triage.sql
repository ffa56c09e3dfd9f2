-- Triage: what rules and bulk actions record on an alert, and the rules
-- managed through the API (rules from the --rules file are not stored).

-- A suppressed alert keeps why, and until when (NULL: no expiry); a repeat
-- after that time reopens it as new.
ALTER TABLE alerts ADD COLUMN suppress_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN suppressed_until BIGINT;
ALTER TABLE alerts ADD COLUMN assignee_id BIGINT REFERENCES users(id);

-- "count of the same tool rule on the same host" reads alerts by these;
-- without last_seen in it, a repeat's bump does not touch this index.
CREATE INDEX alerts_rule_host ON alerts(source, rule_id, host) WHERE rule_id <> '';

CREATE TABLE triage_rules (
    id         TEXT    PRIMARY KEY,
    body       TEXT    NOT NULL,              -- the rule as JSON (package triage)
    created_by BIGINT  REFERENCES users(id),
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- Response actions run from an incident (isolate a host, revoke a user's
-- sessions), and sign-in through OpenID Connect.

-- One run of a response action on one observable. The request is stored as
-- shown to people, with secrets masked; secrets are never stored.
CREATE TABLE action_runs (
    id               INTEGER PRIMARY KEY,
    incident_id      INTEGER NOT NULL REFERENCES incidents (id),
    action           TEXT    NOT NULL,
    observable_type  TEXT    NOT NULL,
    observable_value TEXT    NOT NULL,
    comment          TEXT    NOT NULL DEFAULT '',
    destructive      INTEGER NOT NULL DEFAULT 0,
    -- awaiting_approval | pending | succeeded | failed
    status           TEXT    NOT NULL,
    requested_by     INTEGER NOT NULL REFERENCES users (id),
    approved_by      INTEGER REFERENCES users (id),
    approved_at      INTEGER,
    request          TEXT    NOT NULL DEFAULT '',
    response_status  INTEGER NOT NULL DEFAULT 0,
    response_body    TEXT    NOT NULL DEFAULT '',
    last_error       TEXT    NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX action_runs_incident ON action_runs (incident_id, id);
CREATE INDEX action_runs_status ON action_runs (status, id);
-- The worker's claim: pending runs in due order.
CREATE INDEX action_runs_due ON action_runs (next_attempt_at) WHERE status = 'pending';

-- A user signed in through OpenID Connect is known by the issuer and the
-- subject of its ID tokens, never by a name or e-mail it could change.
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;

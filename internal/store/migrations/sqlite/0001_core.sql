-- Core schema: users and credentials, incidents with their phases,
-- members, comments and action records, and the hash-chained events.
-- Times are INTEGER microseconds since the Unix epoch, UTC.
-- Booleans are INTEGER 0/1 so the same SQL runs on PostgreSQL.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    hash         TEXT    NOT NULL UNIQUE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE incident_keys (
    year     INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL
);

CREATE TABLE incidents (
    id                      INTEGER PRIMARY KEY,
    key                     TEXT    NOT NULL UNIQUE,
    title                   TEXT    NOT NULL,
    description             TEXT    NOT NULL DEFAULT '',
    category                TEXT    NOT NULL,
    info_type               TEXT    NOT NULL DEFAULT '',
    cause_class             TEXT    NOT NULL DEFAULT '',
    severity                TEXT    NOT NULL,
    impact                  INTEGER NOT NULL,
    urgency                 INTEGER NOT NULL,
    priority                TEXT    NOT NULL,
    phase                   TEXT    NOT NULL,
    affected_systems        TEXT    NOT NULL DEFAULT '[]',
    reporter_id             INTEGER REFERENCES users(id),
    assignee_id             INTEGER REFERENCES users(id),
    occurred_at             INTEGER,
    location                TEXT    NOT NULL DEFAULT '',
    discovered_by           TEXT    NOT NULL DEFAULT '',
    what                    TEXT    NOT NULL DEFAULT '',
    why                     TEXT    NOT NULL DEFAULT '',
    how_found               TEXT    NOT NULL DEFAULT '',
    actions_taken           TEXT    NOT NULL DEFAULT '',
    personal_data           INTEGER NOT NULL DEFAULT 0,
    people_affected         INTEGER NOT NULL DEFAULT 0,
    sensitive_personal_data INTEGER NOT NULL DEFAULT 0,
    malicious_intent        INTEGER NOT NULL DEFAULT 0,
    financial_damage_risk   INTEGER NOT NULL DEFAULT 0,
    eu_residents            INTEGER NOT NULL DEFAULT 0,
    restricted              INTEGER NOT NULL DEFAULT 0,
    exercise                INTEGER NOT NULL DEFAULT 0,
    root_cause              TEXT    NOT NULL DEFAULT '',
    lessons_learned         TEXT    NOT NULL DEFAULT '',
    prevention_measures     TEXT    NOT NULL DEFAULT '',
    detected_at             INTEGER,
    reported_at             INTEGER NOT NULL,
    acknowledged_at         INTEGER,
    contained_at            INTEGER,
    eradicated_at           INTEGER,
    recovered_at            INTEGER,
    closed_at               INTEGER,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    version                 INTEGER NOT NULL DEFAULT 1
);
-- Lists are newest first (id DESC); each common filter has an index that
-- ends in id so the first page is read straight off it.
CREATE INDEX incidents_phase    ON incidents(phase, id);
CREATE INDEX incidents_severity ON incidents(severity, id);
CREATE INDEX incidents_category ON incidents(category, id);
CREATE INDEX incidents_assignee ON incidents(assignee_id, id);
CREATE INDEX incidents_reporter ON incidents(reporter_id, id);
CREATE INDEX incidents_created  ON incidents(created_at);
CREATE INDEX incidents_restricted ON incidents(restricted, id) WHERE restricted = 1;

CREATE TABLE incident_phases (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    phase       TEXT    NOT NULL,
    entered_at  INTEGER NOT NULL,
    left_at     INTEGER,
    entered_by  TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX incident_phases_incident ON incident_phases(incident_id, id);

CREATE TABLE incident_phase_assignees (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    phase       TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (incident_id, phase)
);

CREATE TABLE incident_members (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_members_user ON incident_members(user_id, incident_id);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    phase       TEXT    NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES users(id),
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_incident ON comments(incident_id, id);

CREATE TABLE action_records (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    phase        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    performed_by TEXT    NOT NULL,
    performed_at INTEGER NOT NULL,
    tool         TEXT    NOT NULL DEFAULT '',
    recorded_by  INTEGER NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX action_records_incident ON action_records(incident_id, id);

-- The audit trail. Rows are never updated or deleted; the triggers make an
-- accident impossible and the hash chain makes a deliberate change visible.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,
    actor_id    INTEGER,
    actor       TEXT    NOT NULL,
    incident_id INTEGER,
    type        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX events_incident ON events(incident_id, id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- The newest event's id and hash, written with every batch: deleting the
-- newest rows leaves no gap in the chain, but it leaves the head behind.
CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    event_id INTEGER NOT NULL,
    hash     TEXT    NOT NULL
);

-- Full text: the terms column holds internal/search's terms separated by
-- spaces, so both databases index exactly the same words.
CREATE VIRTUAL TABLE incident_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');

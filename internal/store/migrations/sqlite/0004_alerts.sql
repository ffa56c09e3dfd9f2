-- Alert intake: tool alerts with their original payload, the occurrences
-- that were folded into them, and the observables (indicators) they and
-- incidents carry. Times are INTEGER microseconds since the Unix epoch, UTC.

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,            -- the format: wazuh, cef, native...
    source_event_id TEXT    NOT NULL DEFAULT '', -- the first occurrence's
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL,            -- new | acknowledged | promoted | suppressed | closed
    close_reason    TEXT    NOT NULL DEFAULT '',
    severity        TEXT    NOT NULL,
    native_severity TEXT    NOT NULL DEFAULT '',
    rule_id         TEXT    NOT NULL DEFAULT '',
    rule_name       TEXT    NOT NULL DEFAULT '',
    title           TEXT    NOT NULL,
    host            TEXT    NOT NULL DEFAULT '',
    user_name       TEXT    NOT NULL DEFAULT '',
    src_ip          TEXT    NOT NULL DEFAULT '',
    src_port        INTEGER NOT NULL DEFAULT 0,
    dst_ip          TEXT    NOT NULL DEFAULT '',
    dst_port        INTEGER NOT NULL DEFAULT 0,
    process         TEXT    NOT NULL DEFAULT '',
    file_hash       TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL DEFAULT '',
    domain          TEXT    NOT NULL DEFAULT '',
    email           TEXT    NOT NULL DEFAULT '',
    event_time      INTEGER,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    count           INTEGER NOT NULL DEFAULT 1,
    raw             TEXT    NOT NULL,            -- the first occurrence's payload, verbatim
    incident_id     INTEGER REFERENCES incidents(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Lists are newest first (id DESC); the common filters end in id.
CREATE INDEX alerts_status   ON alerts(status, id);
CREATE INDEX alerts_severity ON alerts(severity, id);
CREATE INDEX alerts_source   ON alerts(source, id);
CREATE INDEX alerts_host     ON alerts(host, id);
-- Grouping a repeat looks for the newest alert of a fingerprint.
CREATE INDEX alerts_fingerprint ON alerts(fingerprint, last_seen);
CREATE INDEX alerts_incident ON alerts(incident_id) WHERE incident_id IS NOT NULL;

-- Every time a tool sent an alert, including the first. A tool resending
-- an event it already sent (same source and event id) is recognised here
-- and adds nothing; events without an id are never taken for resends.
CREATE TABLE alert_occurrences (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL REFERENCES alerts(id),
    source          TEXT    NOT NULL,
    source_event_id TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL,
    event_time      INTEGER
);
CREATE INDEX alert_occurrences_alert ON alert_occurrences(alert_id, id);
CREATE UNIQUE INDEX alert_occurrences_event ON alert_occurrences(source, source_event_id) WHERE source_event_id <> '';

-- Observables are stored once per normalised (type, value), so the same
-- address seen in many alerts and incidents is one row to look up.
CREATE TABLE observables (
    id         INTEGER PRIMARY KEY,
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    UNIQUE (type, value)
);

CREATE TABLE alert_observables (
    alert_id      INTEGER NOT NULL REFERENCES alerts(id),
    observable_id INTEGER NOT NULL REFERENCES observables(id),
    PRIMARY KEY (alert_id, observable_id)
);
CREATE INDEX alert_observables_observable ON alert_observables(observable_id, alert_id);

CREATE TABLE incident_observables (
    incident_id   INTEGER NOT NULL REFERENCES incidents(id),
    observable_id INTEGER NOT NULL REFERENCES observables(id),
    added_by      INTEGER REFERENCES users(id),
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (incident_id, observable_id)
);
CREATE INDEX incident_observables_observable ON incident_observables(observable_id, incident_id);

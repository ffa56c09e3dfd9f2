-- Second sign-in factor: TOTP (RFC 6238) per user. A row with enabled = 0
-- is an enrolment not yet confirmed with a code; it does not guard the
-- sign-in until then. last_step is the newest time step a code was
-- accepted for: a code is accepted only for a later step, so one seen
-- over a shoulder cannot be used again. The secret is never shown again
-- after enrolment and never leaves the server but through a backup.
CREATE TABLE user_totp (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id),
    secret     TEXT    NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    enabled_at INTEGER
);

-- One-time recovery codes, stored as hashes like API tokens; used_at is
-- set when one is spent.
CREATE TABLE user_recovery_codes (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    hash    TEXT    NOT NULL UNIQUE,
    used_at INTEGER
);
CREATE INDEX user_recovery_codes_user ON user_recovery_codes(user_id);

-- Keys the server makes for itself, shared by every node through the
-- database: the one that signs the short-lived cookie between the
-- password and the code of a two-step sign-in.
CREATE TABLE server_keys (
    name       TEXT    PRIMARY KEY,
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- The dashboard counts without reading incidents one by one: open ones
-- by phase, severity and category, and recent ones by week, from these
-- covering indexes alone (the scope check needs restricted); the
-- medians read the milestones of the recently closed from the third.
CREATE INDEX incidents_dashboard_open ON incidents(phase, severity, category, exercise, restricted);
CREATE INDEX incidents_dashboard_created ON incidents(created_at, category, phase, exercise, restricted);
CREATE INDEX incidents_dashboard_closed ON incidents(closed_at, phase, exercise, restricted, created_at, occurred_at,
    reported_at, detected_at, acknowledged_at, contained_at, recovered_at) WHERE closed_at IS NOT NULL;
-- The legal clocks on the dashboard (and the incident list's filter)
-- look for incidents whose flags can start a clock: few among many.
CREATE INDEX incidents_legal_flags ON incidents(id) WHERE personal_data = 1 OR sensitive_personal_data = 1 OR eu_residents = 1;

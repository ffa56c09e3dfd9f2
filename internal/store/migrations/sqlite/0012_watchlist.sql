-- The watchlist: indicators others shared (a STIX bundle, a MISP event)
-- that incoming alerts are checked against. One row per (type, value,
-- source): the same indicator from two feeds is two rows, each with its
-- own confidence, TLP and expiry. Times are INTEGER microseconds, UTC.
CREATE TABLE watchlist (
    id         INTEGER PRIMARY KEY,
    type       TEXT    NOT NULL,            -- observable type, as in observables
    value      TEXT    NOT NULL,            -- normalised as observables are
    source     TEXT    NOT NULL,            -- the feed or partner
    confidence INTEGER NOT NULL DEFAULT 0,  -- 0-100, 0: not given
    tlp        TEXT    NOT NULL DEFAULT '',
    expires_at INTEGER,                     -- NULL: never
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (type, value, source)
);
-- Intake looks up each observable of a new alert by (type, value).
CREATE INDEX watchlist_lookup ON watchlist(type, value, expires_at);

-- Which alerts matched which indicators. The indicator's type, value and
-- source are copied so the mark outlives the entry's deletion or expiry.
CREATE TABLE alert_watchlist (
    alert_id   INTEGER NOT NULL REFERENCES alerts(id),
    type       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    entry_id   INTEGER REFERENCES watchlist(id) ON DELETE SET NULL,
    matched_at INTEGER NOT NULL,
    PRIMARY KEY (alert_id, type, value, source)
);
CREATE INDEX alert_watchlist_entry ON alert_watchlist(entry_id) WHERE entry_id IS NOT NULL;

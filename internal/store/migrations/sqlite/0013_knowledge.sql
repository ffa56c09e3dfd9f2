-- The knowledge base and the cost of damage.
--
-- A knowledge entry is either the review of a closed incident (kind
-- 'incident', one per incident, rewritten when the incident is closed
-- again) or a free-standing article (how-to, runbook). An entry of an
-- incident is visible to whoever may see the incident: the store joins
-- incidents and applies the viewer's scope, so restricting the incident
-- hides its entry too.
CREATE TABLE knowledge (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL CHECK (kind IN ('incident', 'article')),
    incident_id         INTEGER UNIQUE REFERENCES incidents(id),
    title               TEXT    NOT NULL,
    summary             TEXT    NOT NULL DEFAULT '',
    body                TEXT    NOT NULL DEFAULT '',   -- an article's Markdown source
    category            TEXT    NOT NULL DEFAULT '',
    cause_class         TEXT    NOT NULL DEFAULT '',
    root_cause          TEXT    NOT NULL DEFAULT '',
    lessons_learned     TEXT    NOT NULL DEFAULT '',
    prevention_measures TEXT    NOT NULL DEFAULT '',
    review              TEXT    NOT NULL DEFAULT '{}', -- JSON: scope, actions, tools, time per phase
    tags                TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    language            TEXT    NOT NULL DEFAULT '',
    author_id           INTEGER REFERENCES users(id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    version             INTEGER NOT NULL DEFAULT 1,
    CHECK ((kind = 'incident') = (incident_id IS NOT NULL))
);

-- Every edit keeps the text it replaced: content is the JSON of the
-- editable fields at that version.
CREATE TABLE knowledge_versions (
    id           INTEGER PRIMARY KEY,
    knowledge_id INTEGER NOT NULL REFERENCES knowledge(id),
    version      INTEGER NOT NULL,
    content      TEXT    NOT NULL,
    replaced_by  TEXT    NOT NULL,                     -- who made the next version
    replaced_at  INTEGER NOT NULL,
    UNIQUE (knowledge_id, version)
);

-- Prevention measures tracked to completion: the "A" of PDCA.
CREATE TABLE knowledge_measures (
    id           INTEGER PRIMARY KEY,
    knowledge_id INTEGER NOT NULL REFERENCES knowledge(id),
    n            INTEGER NOT NULL,                     -- 1, 2, ... within the entry
    text         TEXT    NOT NULL,
    owner_id     INTEGER REFERENCES users(id),
    due_on       TEXT    NOT NULL DEFAULT '',          -- YYYY-MM-DD (Japan), '' for none
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    done_at      INTEGER,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (knowledge_id, n)
);
CREATE INDEX knowledge_measures_due ON knowledge_measures(status, due_on);

-- Full text, as incident_fts: internal/search's terms separated by
-- spaces, the title's apart so that it weighs more in the ranking.
CREATE VIRTUAL TABLE knowledge_fts USING fts5(title, terms, tokenize = 'unicode61 remove_diacritics 0');

-- The affected systems of every incident, one row each, lower case, kept
-- by triggers from the JSON column: "similar incidents" joins on them.
CREATE TABLE incident_systems (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    name        TEXT    NOT NULL,
    PRIMARY KEY (incident_id, name)
);
CREATE INDEX incident_systems_name ON incident_systems(name, incident_id);
INSERT OR IGNORE INTO incident_systems (incident_id, name)
    SELECT i.id, lower(trim(j.value)) FROM incidents i, json_each(i.affected_systems) j
    WHERE j.type = 'text' AND trim(j.value) <> '';
CREATE TRIGGER incident_systems_insert AFTER INSERT ON incidents
BEGIN
    INSERT OR IGNORE INTO incident_systems (incident_id, name)
        SELECT NEW.id, lower(trim(j.value)) FROM json_each(NEW.affected_systems) j
        WHERE j.type = 'text' AND trim(j.value) <> '';
END;
CREATE TRIGGER incident_systems_update AFTER UPDATE OF affected_systems ON incidents
WHEN NEW.affected_systems IS NOT OLD.affected_systems
BEGIN
    DELETE FROM incident_systems WHERE incident_id = NEW.id;
    INSERT OR IGNORE INTO incident_systems (incident_id, name)
        SELECT NEW.id, lower(trim(j.value)) FROM json_each(NEW.affected_systems) j
        WHERE j.type = 'text' AND trim(j.value) <> '';
END;

-- Cost of damage. Amounts are integers in the currency's minor unit (yen
-- for JPY, cents for USD): no floating-point money. A staff-time item
-- keeps its hours (in hundredths) and rate, and its amount is their
-- product. Deleted items leave the table; the audit event keeps them.
CREATE TABLE incident_costs (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    category    TEXT    NOT NULL,
    kind        TEXT    NOT NULL DEFAULT 'amount' CHECK (kind IN ('amount', 'staff_hours')),
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    currency    TEXT    NOT NULL DEFAULT 'JPY',
    hours_x100  INTEGER NOT NULL DEFAULT 0,
    rate        INTEGER NOT NULL DEFAULT 0,
    status      TEXT    NOT NULL CHECK (status IN ('estimate', 'actual')),
    incurred_on TEXT    NOT NULL,                      -- YYYY-MM-DD
    note        TEXT    NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_by  INTEGER REFERENCES users(id),
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX incident_costs_incident ON incident_costs(incident_id, id);
CREATE INDEX incident_costs_date ON incident_costs(incurred_on);

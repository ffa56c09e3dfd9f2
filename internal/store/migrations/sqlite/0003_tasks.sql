-- Tasks that someone worked on, or added by hand. Playbook tasks nobody has
-- touched are not stored: they are shown from the incident's playbook.
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    playbook_id TEXT    NOT NULL DEFAULT '',
    template_id TEXT    NOT NULL DEFAULT '',
    phase       TEXT    NOT NULL,
    title_ja    TEXT    NOT NULL,
    title_en    TEXT    NOT NULL,
    guidance_ja TEXT    NOT NULL DEFAULT '',
    guidance_en TEXT    NOT NULL DEFAULT '',
    role        TEXT    NOT NULL DEFAULT '',
    blocking    INTEGER NOT NULL DEFAULT 0,
    due_after   INTEGER NOT NULL DEFAULT 0, -- seconds after the phase starts
    assignee_id INTEGER REFERENCES users(id),
    due_at      INTEGER,
    status      TEXT    NOT NULL,
    skip_reason TEXT    NOT NULL DEFAULT '',
    checklist   TEXT    NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX tasks_incident ON tasks(incident_id, id);
CREATE UNIQUE INDEX tasks_template ON tasks(incident_id, playbook_id, template_id) WHERE template_id <> '';
CREATE INDEX tasks_assignee ON tasks(assignee_id, status);

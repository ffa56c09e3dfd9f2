-- The contact tree (連絡網), escalation rules managed through the API, the
-- record of which escalations fired (so each fires once), and the outbox
-- of notifications the delivery worker drains.
CREATE TABLE contacts (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	party         TEXT NOT NULL DEFAULT '',
	organisation  TEXT NOT NULL DEFAULT '',
	roles         TEXT NOT NULL DEFAULT '[]',
	user_id       INTEGER REFERENCES users (id),
	language      TEXT NOT NULL DEFAULT 'ja',
	on_call_order INTEGER,
	channels      TEXT NOT NULL DEFAULT '[]',
	notes         TEXT NOT NULL DEFAULT '',
	active        INTEGER NOT NULL DEFAULT 1,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX contacts_name ON contacts (name);

CREATE TABLE escalation_rules (
	id         TEXT PRIMARY KEY,
	definition TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE escalations_fired (
	rule_id     TEXT NOT NULL,
	incident_id INTEGER NOT NULL REFERENCES incidents (id),
	subject     TEXT NOT NULL,
	fired_at    INTEGER NOT NULL,
	PRIMARY KEY (rule_id, incident_id, subject)
);

CREATE TABLE notifications (
	id              INTEGER PRIMARY KEY,
	idempotency_key TEXT NOT NULL,
	incident_id     INTEGER REFERENCES incidents (id),
	rule_id         TEXT NOT NULL DEFAULT '',
	contact_id      INTEGER REFERENCES contacts (id),
	recipient       TEXT NOT NULL,
	channel         TEXT NOT NULL,
	address         TEXT NOT NULL,
	language        TEXT NOT NULL,
	subject         TEXT NOT NULL,
	body            TEXT NOT NULL,
	link            TEXT NOT NULL DEFAULT '',
	incident_key    TEXT NOT NULL DEFAULT '',
	severity        TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	max_attempts    INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	delivered_at    INTEGER
);
CREATE UNIQUE INDEX notifications_key ON notifications (idempotency_key);
-- The worker's claim: pending rows in due order.
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_incident ON notifications (incident_id, id);

-- Report drafts edited by hand before export: one set of edits per
-- incident, kind, stage (PPC only) and language.
CREATE TABLE report_edits (
	incident_id BIGINT NOT NULL REFERENCES incidents (id),
	kind        TEXT NOT NULL,
	stage       TEXT NOT NULL,
	lang        TEXT NOT NULL,
	edits       TEXT NOT NULL,
	version     BIGINT NOT NULL,
	updated_by  BIGINT NOT NULL REFERENCES users (id),
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (incident_id, kind, stage, lang)
);

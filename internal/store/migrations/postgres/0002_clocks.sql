-- What people decided about an incident's legal reporting clocks. The
-- clocks themselves (due times) are computed from the incident's facts on
-- every read, so they follow any change of flags or awareness time.
CREATE TABLE incident_clocks (
    incident_id BIGINT  NOT NULL REFERENCES incidents(id),
    rule_id     TEXT    NOT NULL,
    state       TEXT    NOT NULL,          -- submitted | not_required
    at          BIGINT  NOT NULL,          -- when submitted, or when decided
    reference   TEXT    NOT NULL DEFAULT '', -- the regulator's receipt number
    reason      TEXT    NOT NULL DEFAULT '', -- why not required
    by_user     BIGINT  NOT NULL REFERENCES users(id),
    PRIMARY KEY (incident_id, rule_id)
);

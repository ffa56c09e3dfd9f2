-- Observables added to an incident by hand carry what the analyst knows:
-- tags, whether it is an indicator of compromise, and its TLP marking.
ALTER TABLE incident_observables ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incident_observables ADD COLUMN ioc BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incident_observables ADD COLUMN tlp TEXT NOT NULL DEFAULT '';

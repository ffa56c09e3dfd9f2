-- A response-action run can be refused by a lead (rejected) or withdrawn
-- before it is sent (cancelled); both are final and say who, when and why.

-- claimed_until is the lease of the worker holding the run: set by the
-- claim, cleared when the attempt is recorded. A pending run whose lease
-- is unset or over is not being sent, so it may still be cancelled.
ALTER TABLE action_runs ADD COLUMN claimed_until INTEGER;
ALTER TABLE action_runs ADD COLUMN rejected_by INTEGER REFERENCES users (id);
ALTER TABLE action_runs ADD COLUMN rejected_at INTEGER;
ALTER TABLE action_runs ADD COLUMN cancelled_by INTEGER REFERENCES users (id);
ALTER TABLE action_runs ADD COLUMN cancelled_at INTEGER;
-- Why it was rejected (required) or cancelled (optional).
ALTER TABLE action_runs ADD COLUMN decision_reason TEXT NOT NULL DEFAULT '';

-- Each repeat of an alert keeps its own payload (the first occurrence's is
-- alerts.raw); old occurrences are pruned by the retention job.
ALTER TABLE alert_occurrences ADD COLUMN raw TEXT;

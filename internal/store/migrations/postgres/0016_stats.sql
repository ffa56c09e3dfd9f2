-- The statistics API (GET /api/v1/stats) over 100,000 incidents.
--
-- Counts by category, severity, phase and cause class, and how many
-- incidents have each response time, come from one scan of this covering
-- index, in GROUP BY order: no table row and no sort is touched.
CREATE INDEX incidents_stats ON incidents(category, severity, phase, cause_class, exercise, restricted, created_at,
    occurred_at, reported_at, detected_at, acknowledged_at, contained_at, recovered_at, id);

-- The median and 90th percentile of each response time are the value at
-- one rank: these partial indexes hold each span in order (exercises and
-- incidents without the two milestones left out), so the rank is reached
-- by walking the index (LIMIT 1 OFFSET rank) instead of sorting every span.
CREATE INDEX incidents_mttd ON incidents((detected_at - occurred_at), created_at, restricted, id)
    WHERE exercise = 0 AND occurred_at IS NOT NULL AND detected_at IS NOT NULL AND detected_at >= occurred_at;
CREATE INDEX incidents_mtta ON incidents((acknowledged_at - reported_at), created_at, restricted, id)
    WHERE exercise = 0 AND reported_at IS NOT NULL AND acknowledged_at IS NOT NULL AND acknowledged_at >= reported_at;
CREATE INDEX incidents_mttc ON incidents((contained_at - detected_at), created_at, restricted, id)
    WHERE exercise = 0 AND detected_at IS NOT NULL AND contained_at IS NOT NULL AND contained_at >= detected_at;
CREATE INDEX incidents_mttr ON incidents((recovered_at - detected_at), created_at, restricted, id)
    WHERE exercise = 0 AND detected_at IS NOT NULL AND recovered_at IS NOT NULL AND recovered_at >= detected_at;

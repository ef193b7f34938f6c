-- Views of the analytics_v1 projection, replaced by analytics_v2 (0007). Until issue 12 this migration created the
-- analytics_v1_* tables; a fresh install no longer gets them. An older install keeps them until its operator drops
-- them (docs/operations.md, "Tables no longer used"). The migration stays, empty, so that its name keeps its place.
SELECT 1;

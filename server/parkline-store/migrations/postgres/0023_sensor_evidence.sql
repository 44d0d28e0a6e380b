-- Several sensors and cameras may watch one spot: each one's latest reading, as JSON by slot, is what
-- the spot's belief is fused from (NULL when no sensor has reported since this column came).
ALTER TABLE spot_status ADD COLUMN evidence TEXT;

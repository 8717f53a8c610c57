-- equity311 schema, version 13: the concentration index of app use split
-- into volume and channel. App requests per resident concentrate among
-- richer areas partly because requests of every channel do (problems are
-- where few people live) and partly because those areas choose the app
-- more. volume_ci is the concentration index of all resident requests per
-- resident: what the app's index would be if every area had the city's app
-- share. channel_ci = ci − volume_ci is the part due to channel choice.
ALTER TABLE analysis_concentration ADD COLUMN volume_ci DOUBLE;
ALTER TABLE analysis_concentration ADD COLUMN volume_se DOUBLE;
ALTER TABLE analysis_concentration ADD COLUMN volume_lo DOUBLE;
ALTER TABLE analysis_concentration ADD COLUMN volume_hi DOUBLE;
ALTER TABLE analysis_concentration ADD COLUMN channel_ci DOUBLE;

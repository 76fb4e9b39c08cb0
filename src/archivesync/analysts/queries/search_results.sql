-- The console's search (archivesync_search_results, search/results.py): a row per video, then
-- a row per chapter or cue hit at its second; the same rows as the console's CSV, for every
-- mode (words, meaning, hybrid) and every choice of places and filters.
select json_extract(j.value, '$.video_id') as video_id, json_extract(j.value, '$.title') as title,
  json_extract(j.value, '$.published_at') as published_at, json_extract(j.value, '$.kind') as kind,
  CASE WHEN json_extract(j.value, '$.start_seconds') IS NULL THEN NULL ELSE printf('%d:%02d:%02d', CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) / 3600, (CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) % 3600) / 60, CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) % 60) END as start,
  json_extract(j.value, '$.start_seconds') as start_seconds, json_extract(j.value, '$.text') as text,
  json_extract(j.value, '$.url') as url, json_extract(j.value, '$.matched_by') as matched_by
from json_each(archivesync_search_results(:q, :scope, :mode, :exact, :channel, :playlist, :year)) j

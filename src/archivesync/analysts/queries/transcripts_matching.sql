-- Cue hits of the core search (archivesync_search: the matcher of `archivesync search` and the
-- console), newest video first, each at the start of the cue that holds the words.
select json_extract(j.value, '$.video_title') as video_title,
  CASE WHEN CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) IS NULL THEN NULL ELSE printf('%d:%02d:%02d', CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) / 3600, (CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) % 3600) / 60, CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) % 60) END as start,
  json_extract(j.value, '$.text') as text, json_extract(j.value, '$.deep_link') as url, json_extract(j.value, '$.video_id') as video_id,
  json_extract(j.value, '$.start_seconds') as start_seconds
from json_each(archivesync_search(:q, 'transcripts')) j

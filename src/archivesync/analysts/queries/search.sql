-- The videos of the core search (archivesync_search), ranked like `archivesync search`: title,
-- chapter title, transcript, then description or tags; url opens the best chapter or cue.
select json_extract(j.value, '$.video_id') as video_id, json_extract(j.value, '$.title') as title,
  json_extract(j.value, '$.published_at') as published_at, json_extract(j.value, '$.match_kind') as match_kind,
  json_extract(j.value, '$.chapter_title') as chapter_title, json_extract(j.value, '$.start_seconds') as start_seconds,
  json_extract(j.value, '$.deep_link') as url, json_extract(j.value, '$.score') as score
from json_each(archivesync_search(:q, 'videos')) j

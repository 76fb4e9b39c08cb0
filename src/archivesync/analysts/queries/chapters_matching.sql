-- Chapter hits of the core search (archivesync_search), each linked at the chapter's second.
select json_extract(j.value, '$.video_title') as video_title, json_extract(j.value, '$.text') as chapter,
  CASE WHEN CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) IS NULL THEN NULL ELSE printf('%d:%02d:%02d', CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) / 3600, (CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) % 3600) / 60, CAST(json_extract(j.value, '$.start_seconds') AS INTEGER) % 60) END as start, json_extract(j.value, '$.deep_link') as url, json_extract(j.value, '$.video_id') as video_id
from json_each(archivesync_search(:q, 'chapters')) j

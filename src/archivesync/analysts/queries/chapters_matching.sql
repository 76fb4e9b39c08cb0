with hits as (
  select rowid as id from search_fts_head
  where search_fts_head match archivesync_match_in(:q, 'chapters')
  order by rowid desc limit 200
)
select ci.video_title, ci.title as chapter, ci.start, ci.url
from hits
join search_docs d on d.id = hits.id
join chapter_index ci on ci.video_id = d.video_id
where archivesync_contains_all(:q, ci.title) = 1
order by hits.id desc, ci.position
limit 200

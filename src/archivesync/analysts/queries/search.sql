-- The same order as `archivesync search`: every word in the title, then in the title or
-- chapter titles, then anywhere; newest first in each. Each group reads its own FTS table
-- newest first and stops early (see search/query.py), so a common word costs what a rare
-- one does.
with
  in_title as (
    select rowid as id from search_fts_title
    where search_fts_title match archivesync_match(:q) order by rowid desc limit 100),
  in_head as (
    select rowid as id from search_fts_head
    where search_fts_head match archivesync_match(:q) order by rowid desc limit 200),
  anywhere as (
    select rowid as id from search_fts
    where search_fts match archivesync_match(:q) order by rowid desc limit 300),
  hits as (
    select 3 as grp, id from in_title
    union all
    select 2, id from in_head where id not in (select id from in_title)
    union all
    select 1, id from anywhere where id not in (select id from in_head)
  )
select
  v.id as video_id,
  v.title,
  v.published_at,
  (select c.title from chapters c
    where c.video_id = v.id and archivesync_term_hits(:q, c.title) > 0
    order by archivesync_term_hits(:q, c.title) desc, c.position limit 1) as chapter_title,
  coalesce(
    (select c.url from chapters c
      where c.video_id = v.id and archivesync_term_hits(:q, c.title) > 0
      order by archivesync_term_hits(:q, c.title) desc, c.position limit 1),
    v.url
  ) as url
from hits
join search_docs d on d.id = hits.id
join videos v on v.id = d.video_id
where v.removed_at is null
  and archivesync_contains_all(:q, d.title, d.description, d.tags, d.chapters)
order by hits.grp desc, hits.id desc
limit 100

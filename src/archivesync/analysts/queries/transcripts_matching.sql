with hits as (
  select rowid as id from search_fts_transcripts
  where search_fts_transcripts match archivesync_match(:q)
)
select v.title as video_title, ti.start, c.text,
  ti.url, c.video_id, c.start_seconds
from hits
join transcript_cues c on c.id = hits.id
join transcript_index ti on ti.video_id = c.video_id and ti.track_id = c.track_id
  and ti.position = c.position
join videos v on v.id = c.video_id
left join transcript_cues n on n.track_id = c.track_id and n.position = c.position + 1
where archivesync_transcript_hit(:q, c.text, n.text) = 1
order by v.published_at desc, c.start_seconds
limit 200

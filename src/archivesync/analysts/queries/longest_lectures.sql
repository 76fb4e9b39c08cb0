select title, duration, published_at, chapter_count, url
from video_overview
where removed_at is null and duration_seconds is not null
order by duration_seconds desc
limit 50

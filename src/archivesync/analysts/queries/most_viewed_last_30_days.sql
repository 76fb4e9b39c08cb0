select title, views_growth_30d, view_count, as_of, video_id
from stats_latest
where removed_at is null and views_growth_30d is not null
order by views_growth_30d desc
limit 50

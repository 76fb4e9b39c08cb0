select removed_at, removed_reason, title, published_at, duration, last_view_count, video_id
from removed_videos limit 100

select year, sum(videos) as videos, round(sum(hours), 1) as hours
from channel_summary group by year order by year

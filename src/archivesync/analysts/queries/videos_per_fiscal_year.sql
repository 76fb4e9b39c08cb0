select fiscal_year, sum(videos) as videos, round(sum(hours), 1) as hours
from channel_summary group by fiscal_year order by fiscal_year

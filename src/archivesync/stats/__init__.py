"""Statistics refreshes on YouTube's own `videos.batchGetStats` quota bucket."""

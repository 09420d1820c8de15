"""Search: the static index and what the browser needs to query it (簡繁 maps)."""

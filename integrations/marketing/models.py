"""Models of marketing tags."""

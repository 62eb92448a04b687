"""Models of accounting and pos."""

"""Models of product feeds."""

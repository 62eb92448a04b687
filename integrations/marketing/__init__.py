"""Analytics, ads and review tags per store, rendered only after the shopper's consent."""

"""Product feeds for price comparison sites and Google Merchant Center (pulled by the partner from a secret URL)."""

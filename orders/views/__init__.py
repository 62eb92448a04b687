"""Storefront views of the orders app: thin, they call selectors and services."""

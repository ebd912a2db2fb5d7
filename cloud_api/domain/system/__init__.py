"""Health, metrics and the API documentation pages."""

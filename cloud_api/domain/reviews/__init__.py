"""Human review: the queue by priority then age, and decisions with overrides."""

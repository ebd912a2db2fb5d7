"""Assessment jobs: a durable, leased job per claim and the heuristic-v1 pipeline behind clean seams."""

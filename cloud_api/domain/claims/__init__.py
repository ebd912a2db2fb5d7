"""Claims: one per incident clip or uploaded video, with its lifecycle status."""

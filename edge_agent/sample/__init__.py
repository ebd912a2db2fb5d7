"""Generated sample drives with known ground truth, for demos and tests (synthetic, not filmed)."""

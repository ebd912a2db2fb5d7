"""Evaluation of the whole mining path (miners + fusion) on real clips and generated drives."""

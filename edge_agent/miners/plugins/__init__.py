"""Miner plugins: one module per miner, found by scanning this package (see ``miners.registry``)."""

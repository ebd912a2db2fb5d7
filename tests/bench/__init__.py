"""Benchmarks run by ``just bench``: they print figures and assert nothing (tests never time things)."""

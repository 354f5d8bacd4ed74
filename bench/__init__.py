"""Benchmarks of issue 7: store I/O, I/O managers, checkpointed reruns, first run, checkpoint lookups, backfills."""

"""Evidence layers: one row per gene of the universe, a score in [0, 1] or null."""

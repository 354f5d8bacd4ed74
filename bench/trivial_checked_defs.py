"""The trivial floor with no-op asset checks named as the real ones: the same graph shape, checks included.

Dagster records three events per asset check on every run (planned, step output, evaluation), whether or
not the asset's body ran; this floor pays them too, so the ratio against it is what the checkpointing costs.
"""

from bench.trivial_defs import build_defs

defs = build_defs(with_checks=True)

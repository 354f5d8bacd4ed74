"""The trivial floor with no-op asset checks named as the real ones: the same graph shape, checks included.

The real checks are one multi_asset_check per group (a step each) and Dagster records three events per check
on every run, whether or not an asset's body ran; this floor pays the same, so the ratio against it is what
the checkpointing itself costs.
"""

from bench.trivial_defs import build_defs

defs = build_defs(with_checks=True)

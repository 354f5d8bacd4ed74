"""usher_assets: checkpointed Dagster assets ranking candidate genes for Usher syndrome."""

__version__ = "0.1.0"

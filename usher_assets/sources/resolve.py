"""A configured source as a local file: its path, a download into the cache for a URL, its checked SHA-256."""

from pathlib import Path

from usher_assets.config import PipelineConfig
from usher_assets.sources.download import RECORD_SUFFIX, cache_path_for, fetch


class SourceChecksumError(ValueError):
    """A local source file does not match the sha256 its config gives."""


def resolve_source(pipeline: PipelineConfig, key: str) -> Path | None:
    """The local file of a configured source, downloading it once into the cache if it has a URL."""
    source = pipeline.sources.get(key)
    if source is None:
        return None
    if source.url is not None:
        return fetch(source.url, pipeline.path(pipeline.storage.download_dir) / key, sha256=source.sha256)
    path = source.resolved_path(pipeline.root)
    if not path.is_file():
        raise FileNotFoundError(f"source {key!r}: file {path} does not exist (configured path {source.path}); "
                                f"restore it, or point sources.{key}.path at the file")
    return path


def checked_sha256(store, key: str, config, path: Path) -> str:
    """The file's SHA-256 (cached by the store), checked against the configured one when the config gives it."""
    digest = store.file_sha256(path)
    if config.sha256 and digest != config.sha256:
        raise SourceChecksumError(
            f"source {key!r}: {path} has sha256 {digest}, but the config expects {config.sha256}. "
            f"If the file was replaced on purpose, update sources.{key}.sha256 (and its release) or remove it")
    return digest


def unavailable_reason(store, pipeline: PipelineConfig, key: str) -> str | None:
    """Why a run would have to download (or could not find) a source, without fetching anything; None if on disk."""
    source = pipeline.sources.get(key)
    if source is None:
        return None
    if source.url is not None:
        cached = cache_path_for(source.url, pipeline.path(pipeline.storage.download_dir) / key)
        if not cached.is_file():
            return f"not downloaded yet ({source.url})"
        if _cached_sha256(source.sha256, cached) != store.file_sha256(cached):
            return f"cached copy {cached} does not verify; the next run downloads it again"
        return None
    path = source.resolved_path(pipeline.root)
    if not path.is_file():
        return f"file missing: {path}"
    if source.sha256 and (digest := store.file_sha256(path)) != source.sha256:
        return (f"sha256 {digest[:12]} differs from the configured {source.sha256[:12]}: the file was "
                f"replaced; if on purpose, update sources.{key}.sha256 and its release")
    return None


def _cached_sha256(configured: str | None, cached: Path) -> str | None:
    # Same rule as the downloader: the configured sha256, else the record written beside the download.
    if configured:
        return configured
    try:
        words = cached.with_name(cached.name + RECORD_SUFFIX).read_text().split()
    except OSError:
        return None
    return words[0].lower() if words else None

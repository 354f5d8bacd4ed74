"""Asset metadata as JSON for the provenance record, and back: a reused asset shows its last figures again."""

import dagster as dg


def plain_metadata(metadata: dict) -> dict:
    """Metadata as JSON for the provenance record; Markdown and JSON values keep their kind."""
    plain = {}
    for key, value in metadata.items():
        if isinstance(value, dg.MarkdownMetadataValue):
            plain[key] = {"__metadata_kind__": "md", "value": value.value}
        elif isinstance(value, dg.JsonMetadataValue):
            plain[key] = {"__metadata_kind__": "json", "value": value.value}
        elif isinstance(value, dg.MetadataValue):
            # Scalars (int, float, text, bool) come back as themselves; others as their text.
            inner = value.value
            plain[key] = inner if isinstance(inner, (int, float, str, bool)) or inner is None else str(inner)
        else:
            plain[key] = value
    return plain


def restore_metadata(plain: dict) -> dict:
    """What plain_metadata wrote, back as metadata: a reused asset shows its last figures again."""
    restored = {}
    for key, value in plain.items():
        if isinstance(value, dict) and "__metadata_kind__" in value:
            kind = value["__metadata_kind__"]
            restored[key] = dg.MetadataValue.md(value["value"]) if kind == "md" else dg.MetadataValue.json(value["value"])
        else:
            restored[key] = value
    return restored


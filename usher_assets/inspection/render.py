"""Plain-text views of what the CLI found: aligned tables, one checkpoint in full, explain and verify results."""

import json

from usher_assets.storage.fingerprint import describe_part

LIST_COLUMNS = (("table", "TABLE"), ("partition", "PARTITION"), ("rows", "ROWS"), ("created_at", "CREATED_AT"),
                ("fingerprint", "FINGERPRINT"), ("description", "DESCRIPTION"))
DESCRIPTION_WIDTH = 70


def aligned_table(rows: list[dict], columns=LIST_COLUMNS, right: tuple[str, ...] = ("rows",)) -> str:
    """Columns padded to their widest cell; numbers right-aligned with thousands separators."""
    def cell(key, value) -> str:
        if value is None:
            return "-"
        if isinstance(value, int):
            return f"{value:,}"
        text = str(value)
        return text if len(text) <= DESCRIPTION_WIDTH else text[:DESCRIPTION_WIDTH - 1] + "…"

    cells = [[header for _, header in columns]] + [[cell(k, row.get(k)) for k, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for line in cells:
        padded = [text.rjust(w) if key in right else text.ljust(w)
                  for (key, _), text, w in zip(columns, line, widths)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def checkpoint_text(shown: dict) -> str:
    """`checkpoints show`: every field, fingerprint parts in words, columns, then the provenance record."""
    lines = [shown["table"]]
    for key in ("description", "row_count", "created_at", "run_id", "fingerprint", "content_hash"):
        value = shown[key]
        lines.append(f"  {key:<13} {value:,}" if isinstance(value, int) else f"  {key:<13} {value}")
    parts = shown["fingerprint_parts"]
    lines.append(f"  fingerprint parts ({len(parts)}):")
    width = max((len(describe_part(p)) for p in parts), default=0)
    lines += [f"    {describe_part(p):<{width}}  {h[:12]}" for p, h in sorted(parts.items())]
    lines.append(f"  columns ({len(shown['columns'])}):")
    width = max((len(name) for name, _ in shown["columns"]), default=0)
    lines += [f"    {name:<{width}}  {dtype}" for name, dtype in shown["columns"]]
    provenance = shown["provenance"]
    lines.append("  latest provenance:" + ("" if provenance else " none recorded"))
    if provenance:
        body = json.dumps(provenance, indent=2, sort_keys=True, default=str)
        lines += ["    " + line for line in body.splitlines()]
    return "\n".join(lines)


def explain_text(statuses: list) -> str:
    """One block per asset, like `dvc status`: the verdict, then why; partition slices grouped by verdict."""
    lines = []
    for status in statuses:
        groups: dict[tuple, list] = {}
        for piece in status.slices:
            groups.setdefault((piece.status, piece.reasons), []).append(piece.partition_key)
        label = status.table + (f" [{len(status.slices)} slices]" if status.partitioned else "")
        verdict = status.status
        if verdict == "conditional":
            verdict = (f"reuse unless upstream {', '.join(status.upstream_recomputing)} changes its content "
                       "when it recomputes")
        elif not status.recomputes and status.upstream_recomputing:
            verdict += (f" for now: upstream {', '.join(status.upstream_recomputing)} recomputes first, "
                        "and this reruns only if that changes its content")
        lines.append(f"{label}: {verdict}")
        for (piece_status, reasons), keys in groups.items():
            indent = "    "
            if status.partitioned and len(groups) > 1:
                noun = "slices" if len(keys) > 1 else "slice"
                lines.append(f"    {noun} {', '.join(keys)}: {piece_status}")
                indent = "        "
            lines += [indent + reason for reason in reasons]
    recomputing = sum(s.recomputes for s in statuses)
    conditional = sum(s.status == "conditional" for s in statuses)
    lines.append(f"{recomputing} of {len(statuses)} asset(s) would recompute"
                 + (f"; {conditional} more only if an upstream recompute changes its content" if conditional else ""))
    return "\n".join(lines)


def verify_text(problems: list, checked: int, recovery: str | None = None) -> str:
    lines = [f"{p.table}: {p.problem}" for p in problems]
    verdict = "all intact" if not problems else f"{len(problems)} problem(s)"
    lines.append(f"checked {checked} checkpoint(s): {verdict}")
    if recovery:
        lines.append(f"the file has damaged blocks, so runs will not write into it: {recovery}")
    return "\n".join(lines)


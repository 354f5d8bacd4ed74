"""Every parser fails on malformed input with a SourceFormatError naming file, line and column."""

import dataclasses
import gzip
import random
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from usher_assets.sources.constraint import parse_exac_pli, parse_loftool
from usher_assets.sources.formats import SourceFormatError
from usher_assets.sources.gene_ontology import parse_pfam_domains
from usher_assets.sources.hgnc import parse_hgnc

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@dataclasses.dataclass(frozen=True)
class ParserCase:
    """A parser with a few valid rows of its real format, to be broken one way at a time."""

    parser: Callable[[Path], pl.DataFrame]
    file_name: str
    lines: list[list[str]]  # header first
    id_column: str  # must be unique
    numeric_column: str
    gzipped: bool


def _head(path: Path, rows: int) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [next(handle).rstrip("\n").split("\t") for _ in range(rows + 1)]


CASES = {
    "hgnc": ParserCase(parse_hgnc, "hgnc_complete_set.txt.gz", _head(DATA_DIR / "hgnc_complete_set.txt.gz", 4),
                       "hgnc_id", "entrez_id", gzipped=True),
    "exac_pli": ParserCase(parse_exac_pli, "ExACpLI_values.txt", _head(DATA_DIR / "ExACpLI_values.txt", 4),
                           "gene", "pLI", gzipped=False),
    "loftool": ParserCase(parse_loftool, "LoFtool_scores.txt", _head(DATA_DIR / "LoFtool_scores.txt", 4),
                          "Gene", "LoFtool_percentile", gzipped=False),
    # Real rows of the export, ordered so that the first and fourth share a gene (the key is gene + domain).
    "pfam_domains": ParserCase(parse_pfam_domains, "orghs_gene_pfam.tsv.gz",
                               [_head(DATA_DIR / "orghs_gene_pfam.tsv.gz", 5)[i] for i in (0, 2, 1, 3, 4)],
                               "pfam_id", "entrez_id", gzipped=True),
}


def _table(lines: list[list[str]], separator: str = "\t") -> bytes:
    return "".join(separator.join(fields) + "\n" for fields in lines).encode("utf-8")


def _set(case: ParserCase, line: int, column: str, value: str) -> list[list[str]]:
    lines = [list(fields) for fields in case.lines]
    lines[line - 1][case.lines[0].index(column)] = value
    return lines


def _drop(case: ParserCase, column: str) -> list[list[str]]:
    index = case.lines[0].index(column)
    return [fields[:index] + fields[index + 1:] for fields in case.lines]


def _with_bad_bytes_on_line_3(content: bytes) -> bytes:
    lines = content.split(b"\n")
    lines[2] = b"\xff\xfe" + lines[2]  # a Latin-1 or UTF-16 fragment, as a mis-saved file has
    return b"\n".join(lines)


# name -> (content builder, message fragment, expected line, expected column); None = not checked.
# Builders return text content (gzipped when the real file is) or raw bytes used as they are.
BROKEN = {
    "empty_file": (lambda c: b"", "empty", None, None),
    "header_only": (lambda c: _table(c.lines[:1]), "no data rows", None, None),
    "random_bytes": (lambda c: random.Random(7).randbytes(4096), "not UTF-8", "any", None),
    "truncated_gzip": (lambda c: gzip.compress(_table(c.lines))[:-12], "truncated", None, None),
    "missing_required_column": (lambda c: _table(_drop(c, c.id_column)), "the header has [", 1, "id"),
    "wrong_delimiter": (lambda c: _table(c.lines, ","), "wrong delimiter?", 1, "any"),
    "non_utf8_bytes": (lambda c: _with_bad_bytes_on_line_3(_table(c.lines)), "not UTF-8", 3, None),
    "non_numeric_value": (lambda c: _table(_set(c, 3, c.numeric_column, "not-a-number")), "not-a-number", 3,
                          "numeric"),
    "duplicate_ids": (lambda c: _table(_set(c, 4, c.id_column, c.lines[1][c.lines[0].index(c.id_column)])),
                      "duplicate ID", 4, "id"),
    "ragged_row": (lambda c: _table(c.lines[:3] + [c.lines[3][:-1]]), "field(s) where the header has", 4, None),
}
RAW_BYTES = {"empty_file", "random_bytes", "truncated_gzip"}


@pytest.mark.parametrize("broken", sorted(BROKEN))
@pytest.mark.parametrize("parser_name", sorted(CASES))
def test_parser_rejects_malformed_file(tmp_path, parser_name, broken):
    case = CASES[parser_name]
    build, fragment, line, column = BROKEN[broken]
    content = build(case)
    if case.gzipped and broken not in RAW_BYTES:
        content = gzip.compress(content)
    path = tmp_path / case.file_name
    path.write_bytes(content)
    with pytest.raises(SourceFormatError) as raised:
        case.parser(path)
    error = raised.value
    assert str(path) in str(error)
    assert fragment in str(error)
    if line == "any":
        assert error.line is not None
    else:
        assert error.line == line
    expected_column = {"id": case.id_column, "numeric": case.numeric_column}.get(column, column)
    if column == "any":
        assert error.column is not None
    else:
        assert error.column == expected_column
    if broken == "duplicate_ids":
        assert case.lines[1][case.lines[0].index(case.id_column)] in str(error)


@pytest.mark.parametrize("parser_name", sorted(CASES))
def test_parser_accepts_the_unbroken_fixture(tmp_path, parser_name):
    # The broken variants above fail for the reason named, not because the base is invalid.
    case = CASES[parser_name]
    content = _table(case.lines)
    path = tmp_path / case.file_name
    path.write_bytes(gzip.compress(content) if case.gzipped else content)
    assert case.parser(path).height == len(case.lines) - 1


@pytest.mark.parametrize("parser_name", sorted(CASES))
def test_parser_detects_gzip_by_content_not_name(tmp_path, parser_name):
    case = CASES[parser_name]
    path = tmp_path / "renamed.tsv"
    path.write_bytes(gzip.compress(_table(case.lines)))
    assert case.parser(path).height == len(case.lines) - 1

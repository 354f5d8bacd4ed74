"""Reading publishers' files strictly: errors name the file, line and column."""

import gzip
import io
import zlib
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import polars as pl

GZIP_MAGIC = b"\x1f\x8b"
_TYPE_WORDS = {pl.Int64: "an integer", pl.Float64: "a number"}


class SourceFormatError(ValueError):
    """A source file does not have the shape its parser needs.

    ``line`` is 1-based and counts the header line, as an editor does; ``column`` is
    the column name the file's header gives.
    """

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: str | None = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.reason = message
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes (whatever its name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SourceFormatError(path, f"cannot read the file ({error.strerror}); check the configured path") from error
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as error:
        raise SourceFormatError(
            path, "gzip stream is truncated (ends before its end-of-stream marker); download the file again"
        ) from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise SourceFormatError(path, f"gzip stream is corrupt ({error}); download the file again") from error


def read_text(path: Path) -> str:
    """The file decoded as UTF-8 text; bad bytes are reported with the line they sit on."""
    raw = read_bytes(path)
    if not raw.strip():
        raise SourceFormatError(path, "file is empty; expected a header line and data rows")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        bad = raw[error.start:error.start + 1].hex()
        raise SourceFormatError(
            path, f"not UTF-8 text (byte 0x{bad}); is this the right file, or binary/random data?", line=line
        ) from error
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SourceFormatError(path, "contains NUL bytes, so it is binary, not a text table", line=line)
    return text.removeprefix("\ufeff")


def open_text(path: Path) -> io.StringIO:
    """A text stream over the file, gzip detected by content; strict as `read_text`."""
    return io.StringIO(read_text(path))


def read_lines(path: Path) -> list[str]:
    """The file's lines without their LF or CRLF endings; a final newline adds no empty line."""
    lines = read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def split_list(column: str, separator: str = "|") -> pl.Expr:
    """A `separator`-joined string column as List(String); null or empty gives []."""
    return (
        pl.col(column).fill_null("").str.split(separator)
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias(column)
    )


def read_delimited(
    path: Path,
    required: Sequence[str],
    *,
    types: Mapping[str, pl.DataType] | None = None,
    unique: Sequence[str] = (),
    separator: str = "\t",
    null_values: Iterable[str] = ("",),
    strip_quotes: bool = False,
    skip_lines: int = 0,
    lines: list[str] | None = None,
) -> pl.DataFrame:
    """Read a delimited table: all fields as strings, then check shape, cast and uniqueness.

    Args:
        required: columns the header must have; others are kept as they are.
        types: columns to cast from text; a value that does not cast is an error.
        unique: columns whose combined values must be non-null and unique per row.
        null_values: field texts that mean "missing" (become null).
        strip_quotes: remove one pair of double quotes wrapping a whole field (HGNC style).
        skip_lines: preamble lines before the header (GCT has two).
        lines: the file's lines when the caller has read them already (to check a preamble).
    """
    path = Path(path)
    lines = read_lines(path) if lines is None else lines
    header_line = skip_lines + 1
    if len(lines) < header_line:
        raise SourceFormatError(path, f"expected {skip_lines} preamble line(s) then a header, found {len(lines)} line(s)")
    header = [name.strip() for name in lines[skip_lines].split(separator)]
    _check_header(path, header, required, separator, header_line)
    body = lines[header_line:]
    if not body:
        raise SourceFormatError(path, "has a header but no data rows; the download may have been cut short")
    frame = _split_fields(path, body, header, separator, header_line)
    if strip_quotes:
        frame = frame.with_columns(pl.all().str.replace(r'(?s)^"(.*)"$', "$1"))
    frame = frame.with_columns(
        pl.when(pl.all().is_in(list(null_values))).then(None).otherwise(pl.all()).name.keep()
    )
    frame = cast_columns(path, frame, types or {}, first_line=header_line + 1)
    if unique:
        check_unique(path, frame, unique, first_line=header_line + 1)
    return frame


def _check_header(path: Path, header: list[str], required: Sequence[str], separator: str, line: int) -> None:
    missing = [name for name in required if name not in header]
    if not missing:
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            raise SourceFormatError(path, f"header names column(s) {duplicated} more than once", line=line)
        return
    shown = header if len(header) <= 20 else header[:20] + ["..."]
    message = f"missing required column(s) {missing}; the header has {shown}"
    if len(header) == 1 and (header[0] not in required or any(sep in header[0] for sep in ",; |\t")):
        message += f" as one single field (wrong delimiter? expected {separator!r}-separated columns)"
    else:
        message += "; check that this is the publisher's file the parser expects"
    raise SourceFormatError(path, message, line=line, column=missing[0])


def _split_fields(path: Path, body: list[str], header: list[str], separator: str,
                  header_line: int) -> pl.DataFrame:
    rows = pl.Series("row", body, dtype=pl.String)
    counts = rows.str.count_matches(separator, literal=True) + 1
    bad = (counts != len(header)).arg_true()
    if len(bad):
        index = int(bad[0])
        raise SourceFormatError(
            path, f"has {counts[index]} field(s) where the header has {len(header)}; "
            "the file may be truncated or have a stray separator", line=header_line + 1 + index,
        )
    fields = rows.str.split_exact(separator, len(header) - 1).struct.unnest()
    return fields.rename(dict(zip(fields.columns, header)))


def cast_columns(path: Path, frame: pl.DataFrame, types: Mapping[str, pl.DataType], *,
                 first_line: int = 2) -> pl.DataFrame:
    """Cast text columns to `types`; a value that does not cast is an error naming its line."""
    casts = {name: pl.col(name).str.strip_chars().cast(dtype, strict=False) for name, dtype in types.items()}
    cast = frame.with_columns(**casts)
    for name, dtype in types.items():
        failed = (cast[name].is_null() & frame[name].is_not_null()).arg_true()
        if len(failed):
            index = int(failed[0])
            raise SourceFormatError(
                path, f"expected {_TYPE_WORDS.get(dtype, str(dtype))}, found {frame[name][index]!r}",
                line=first_line + index, column=name,
            )
    return cast


def check_unique(path: Path, frame: pl.DataFrame, columns: Sequence[str], *, first_line: int | None = 2,
                 nullable: Sequence[str] = ()) -> None:
    """Raise unless `columns` are unique together and filled (except `nullable` ones).

    `first_line` is the file line of the frame's first row; None when rows are not lines
    (R objects, JSON records), and the error then names the row number instead.
    """
    def where(index: int) -> tuple[int | None, str]:
        return (None, f" (row {index + 1})") if first_line is None else (first_line + index, "")

    for name in (c for c in columns if c not in nullable):
        missing = frame[name].is_null().arg_true()
        if len(missing):
            line, row = where(int(missing[0]))
            raise SourceFormatError(path, f"is empty{row} but identifies the row, so it must be filled",
                                    line=line, column=name)
    key = pl.struct(list(columns)) if len(columns) > 1 else pl.col(columns[0])
    repeated = frame.select(~key.is_first_distinct()).to_series().arg_true()
    if len(repeated):
        index = int(repeated[0])
        value = {name: frame[name][index] for name in columns}
        shown = value[columns[0]] if len(columns) == 1 else value
        line, row = where(index)
        raise SourceFormatError(path, f"duplicate ID {shown!r}{row}: expected one row per {'+'.join(columns)}",
                                line=line, column=columns[0])


def check_range(path: Path, frame: pl.DataFrame, column: str, low: float, high: float,
                *, first_line: int = 2) -> None:
    """Raise when a non-null value of `column` lies outside [low, high]."""
    outside = (~frame[column].is_between(low, high)).fill_null(False).arg_true()
    if len(outside):
        index = int(outside[0])
        raise SourceFormatError(path, f"expected a value in [{low}, {high}], found {frame[column][index]}",
                                line=first_line + index, column=column)


def check_allowed(path: Path, frame: pl.DataFrame, column: str, allowed: Iterable[str],
                  *, first_line: int = 2) -> None:
    """Raise when a non-null value of `column` is not one of `allowed`."""
    allowed = sorted(allowed)
    outside = (~frame[column].is_in(allowed)).fill_null(False).arg_true()
    if len(outside):
        index = int(outside[0])
        raise SourceFormatError(path, f"expected one of {allowed}, found {frame[column][index]!r}",
                                line=first_line + index, column=column)


def check_ids(path: Path, frame: pl.DataFrame, column: str, pattern: str, example: str, *,
              also: Iterable[str] = (), first_line: int = 2) -> None:
    """Raise at the first value of `column` (null included) that neither matches `pattern` nor is one of `also`."""
    bad = (~frame[column].str.contains(pattern) & ~frame[column].is_in(list(also))).fill_null(True).arg_true()
    if len(bad):
        index = int(bad[0])
        raise SourceFormatError(path, f"expected {example}, found {frame[column][index]!r}",
                                line=first_line + index, column=column)


def parse_rdata(path: Path | str):
    """rdata's parse of an R workspace, shared by the parsers that read different entries of one file.

    Parsing TissueEnrich's workspace takes seconds in pure Python; two assets read it (expression and
    orthologs), so within a process the file is parsed once per version (path, size, mtime).
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return _parse_rdata_cached(str(resolved), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=2)
def _parse_rdata_cached(path: str, size: int, mtime_ns: int):
    import warnings

    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata's notes on file suffixes and R classes; harmless
        return rdata.parser.parse_file(path)

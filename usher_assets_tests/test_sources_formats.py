"""The strict delimited-file reader shared by all parsers."""

import gzip

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from usher_assets.sources.formats import SourceFormatError, open_text, read_delimited, split_list


@pytest.mark.parametrize(("content", "name"), [
    (b"id\tvalue\nA\t1\nB\t\n", "plain.tsv"),
    (b"id\tvalue\r\nA\t1\r\nB\t\r\n", "crlf.tsv"),  # Windows line endings
    (b"\xef\xbb\xbfid\tvalue\nA\t1\nB\t", "bom_no_final_newline.tsv"),
    (gzip.compress(b"id\tvalue\nA\t1\nB\t\n", mtime=0), "gzipped_without_gz_suffix.txt"),
], ids=["plain", "crlf", "bom_no_final_newline", "gzipped_without_gz_suffix"])  # xdist workers must agree on ids
def test_read_delimited_variants_give_same_frame(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    frame = read_delimited(path, ["id", "value"], types={"value": pl.Int64}, unique=["id"])
    # An empty field is missing (null), never 0.
    assert_frame_equal(frame, pl.DataFrame({"id": ["A", "B"], "value": [1, None]}))


def test_read_delimited_strip_quotes_removes_only_wrapping_quotes(tmp_path):
    path = tmp_path / "quoted.tsv"
    path.write_text('id\tnames\nA\t"X|Y"\nB\t5" floppy\n')
    frame = read_delimited(path, ["id"], strip_quotes=True)
    assert frame["names"].to_list() == ["X|Y", '5" floppy']


def test_read_delimited_custom_null_values(tmp_path):
    path = tmp_path / "na.tsv"
    path.write_text("id\tscore\nA\tNA\nB\t0.5\n")
    frame = read_delimited(path, ["id", "score"], types={"score": pl.Float64}, null_values=("", "NA"))
    assert frame["score"].to_list() == [None, 0.5]


@pytest.mark.parametrize(("content", "fragment", "line", "column"), [
    ("id\tid\nA\tB\n", "more than once", 1, None),
    ("id\tscore\nA\t1\n\tx\n", "must be filled", 3, "id"),
    ("id\tscore\nA\t1\nB\t2\tEXTRA\n", "3 field(s) where the header has 2", 3, None),
    ("id\tscore\nA\t1\x00\n", "NUL", 2, None),
])
def test_read_delimited_rejects(tmp_path, content, fragment, line, column):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(SourceFormatError) as raised:
        read_delimited(path, ["id"], unique=["id"])
    assert fragment in str(raised.value)
    assert (raised.value.line, raised.value.column) == (line, column)


def test_read_delimited_unreadable_path_is_a_source_format_error(tmp_path):
    with pytest.raises(SourceFormatError, match="cannot read"):
        read_delimited(tmp_path / "missing.tsv", ["id"])


def test_open_text_detects_gzip_by_magic_bytes(tmp_path):
    path = tmp_path / "secondarylist.json"
    path.write_bytes(gzip.compress(b'[{"a": 1}]'))
    assert open_text(path).read() == '[{"a": 1}]'


def test_split_list_empty_and_null_give_empty_list():
    frame = pl.DataFrame({"ids": ["A|B", "", None, " C | "]})
    assert frame.select(split_list("ids"))["ids"].to_list() == [["A", "B"], [], [], ["C"]]

"""CSV in and out for takedowns: the bulk upload format and safe exports.

Bulk files: header required, columns `url,right,reason,seller,note` (`seller` and `note` may be
empty or absent), UTF-8 with or without BOM, at most 10,000 rows and 5 MB. File-level problems
raise `InvalidInput`; row-level problems are reported per row by the filing service.

Exports neutralise cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
CR), by prefixing a single quote, as OWASP recommends for CSV injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
REQUIRED = ("url", "right", "reason")
OPTIONAL = ("seller", "note")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BulkRow:
    line: int  # 1-based line in the file, header = 1, for the result CSV and error messages
    url: str
    right: str
    reason: str
    seller: str
    note: str


def parse_bulk(data: bytes) -> list[BulkRow]:
    """Rows of a bulk upload, or `InvalidInput` saying what is wrong with the file as a whole."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"The file is {len(data) / 1_048_576:.1f} MB; at most 5 MB are accepted.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"The file is not UTF-8 (byte {error.start + 1} is invalid). Save it as CSV UTF-8 and try again."
        ) from None
    if "\x00" in text:
        raise InvalidInput("The file contains NUL bytes; it does not look like a CSV text file.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("The file is empty; the first line must be the header `url,right,reason,seller,note`.")
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise InvalidInput(
                f"The header lacks {', '.join(missing)}; the first line must be `url,right,reason,seller,note`."
            )
        unknown = [name for name in columns if name and name not in REQUIRED + OPTIONAL]
        if unknown:
            shown = ", ".join(repr(name[:30]) for name in unknown[:5])  # bounded: a header cell can be 128 KB
            raise InvalidInput(f"Unknown column(s) {shown}; use url,right,reason,seller,note.")
        index = {name: columns.index(name) for name in REQUIRED + OPTIONAL if name in columns}
        rows: list[BulkRow] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank lines are not rows
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
            rows.append(
                BulkRow(
                    line=reader.line_num,
                    **{name: _cell(record, index.get(name)) for name in REQUIRED + OPTIONAL},
                )
            )
    except csv.Error as error:
        raise InvalidInput(f"The CSV is malformed near line {reader.line_num}: {error}.") from None
    if not rows:
        raise InvalidInput("The file has a header but no rows.")
    return rows


def _cell(record: Sequence[str], position: int | None) -> str:
    if position is None or position >= len(record):
        return ""
    return record[position].strip()


def neutralise(value: object) -> str:
    """Make a cell safe to open in a spreadsheet: a leading formula character is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A UTF-8 CSV (with BOM, so Excel reads it as UTF-8) with every cell neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")

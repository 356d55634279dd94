"""Equipment in and out of spreadsheets: the CSV/XLSX export of a filtered list, the import template, and the
bulk import (every row validated, errors per row and column, nothing saved unless all rows are valid).

Headers are written in the reader's language and read in either language.
"""

import csv
import io
import itertools
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
import xlsxwriter
from flask import Response, stream_with_context
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
from openpyxl.xml.functions import iterparse
from sqlalchemy.orm import joinedload

from ..bounds import CONTROL_MESSAGE, DATE_MAX, DATE_MIN, MONEY_MAX, has_control, yuan
from ..catalog.models import EquipmentModel
from ..contracts.models import Contract
from ..extensions import db
from ..i18n import _l
from ..orgs.models import Site
from . import warranty
from .models import Equipment, Status


@dataclass(frozen=True)
class Column:
    key: str
    header: object  # a lazy string: written in the reader's language, recognised in both
    required: bool = False


COLUMNS = (
    Column("contract", _l("Contract number"), required=True),
    Column("site", _l("Site"), required=True),
    Column("manufacturer", _l("Manufacturer"), required=True),
    Column("model", _l("Model number"), required=True),
    Column("serial", _l("Serial number"), required=True),
    Column("asset_tag", _l("Asset tag")),
    Column("building", _l("Building")),
    Column("room", _l("Room")),
    Column("installed_on", _l("Installed on")),
    Column("warranty_start", _l("Warranty start")),
    Column("warranty_months", _l("Warranty term (months)")),
    Column("unit_price", _l("Unit price (CNY)")),
    Column("status", _l("Status")),
)
EXPORT_EXTRA = (
    ("client", _l("Client")),
    ("category", _l("Category")),
    ("warranty_end", _l("Warranty end")),
    ("warranty_state", _l("Warranty state")),
    ("days_left", _l("Days left")),
)
LANGUAGES = ("zh_Hans_CN", "en")


def _norm(text):
    return "".join(str(text or "").split()).lower().replace("（", "(").replace("）", ")")


def header_map():
    """Every header we accept, in both languages (and the column keys themselves), to its column."""
    mapping = {}
    for language in LANGUAGES:
        with force_locale(language):
            for column in COLUMNS:
                mapping[_norm(str(column.header))] = column
    for column in COLUMNS:
        mapping[_norm(column.key)] = column
    return mapping


def export_only_headers():
    """The columns our export adds (client, warranty end…), in both languages: an edited export is imported
    without them."""
    headers = set()
    for language in LANGUAGES:
        with force_locale(language):
            headers.update(_norm(str(header)) for _, header in EXPORT_EXTRA)
    return headers


def status_map():
    mapping = {}
    for language in LANGUAGES:
        with force_locale(language):
            for status in Status:
                mapping[_norm(str(status.label))] = status.value
    for status in Status:
        mapping[_norm(status.value)] = status.value
    return mapping


# ---------------------------------------------------------------- reading a file


class FileProblem(Exception):
    """The file as a whole cannot be read (not CSV/XLSX, no header row, too many rows, too large)."""


MAX_COLUMNS = 100  # read at most this many columns of a row: the template has 13
CELLS_PER_ROW = 20  # on average, at most: a sheet of many cells is refused before all of them are read
CHUNK = 1024 * 1024
ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?row[\s/>]")  # <row …>, or with a prefix: <x:row …>
MAX_UNPACKED = 50 * 1024 * 1024  # an XLSX (a ZIP) may unpack to this much at most (20,000 rows: about 20 MB)


def too_many_rows(max_rows, count=None):
    if count is None:
        return FileProblem(_("The file has more than %(max)d rows; import at most %(max)d at a time.", max=max_rows))
    return FileProblem(_("The file has %(count)d rows; import at most %(max)d at a time.", count=count, max=max_rows))


def read_rows(filename, data, max_rows):
    """The file's header row and data rows, as lists of cell values (str, numbers, dates). Rows are read one by
    one, and reading stops at the first row over ``max_rows``: a file of many rows is refused in the time it takes
    to read ``max_rows``, whatever its length."""
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        rows = _collect(_xlsx_rows(data, max_rows), max_rows)
    elif name.endswith(".csv") or name.endswith(".txt"):
        rows = _collect(_csv_rows(data), max_rows)
    else:
        raise FileProblem(_("Upload a .csv or .xlsx file."))
    if not rows:
        raise FileProblem(_("The file is empty."))
    return rows[0], rows[1:]


def _collect(rows, max_rows):
    """The non-empty rows, header first, each without its trailing empty cells; FileProblem as soon as there are
    more than ``max_rows`` data rows (or as many empty ones: a sheet formatted far down is no reason to read on)."""
    kept, empty = [], 0
    for row in rows:
        values = list(row)
        while values and values[-1] in (None, ""):
            values.pop()
        if not values:
            empty += 1
            if empty > max_rows:
                raise too_many_rows(max_rows)
            continue
        kept.append(values)
        if len(kept) - 1 > max_rows:
            raise too_many_rows(max_rows)
    return kept


def _csv_rows(data):
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem(_("The CSV file is not in UTF-8 or GBK encoding."))
    try:
        for row in csv.reader(io.StringIO(text)):
            yield [from_csv_text(cell) for cell in row]  # our own export's formula guard taken off again
    except csv.Error as error:  # e.g. a field longer than the csv module accepts
        raise FileProblem(_("This is not a readable CSV file.")) from error


class _SizedSheet(ReadOnlyWorksheet):
    """openpyxl's read-only (streaming) sheet, sized from the ``<dimension>`` element at the top of its XML only.
    openpyxl itself reads the whole sheet looking for that element when a file has none (its own write-only files
    have none): for 200,000 rows, seconds before the first row."""

    def _get_size(self):
        with self._get_source() as source:
            for _event, element in iterparse(source, events=("start",)):
                if element.tag == DIMENSION_TAG:
                    ref = element.get("ref") or ""
                    try:
                        bounds = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
                    except (TypeError, ValueError):
                        return
                    if None not in bounds:
                        self._min_column, self._min_row, self._max_column, self._max_row = bounds
                    return
                if element.tag == DATA_TAG:
                    return

    cells_left = None  # the budget of cells to read, set by the caller

    def has_more_rows_than(self, limit):
        """Whether the sheet's XML holds more than ``limit`` rows, empty ones included: counted in the unpacked
        bytes (at the speed of zlib and the regular expression engine, not of a Python loop per cell), stopping
        as soon as it is so."""
        count, carry = 0, b""
        with self._get_source() as source:
            while chunk := source.read(CHUNK):
                text, last = carry + chunk, 0
                for match in ROW_TAG.finditer(text):
                    count, last = count + 1, match.end()
                if count > limit:
                    return True
                carry = text[max(last, len(text) - 40) :]  # a tag cut in two by the chunk ends in the next one
        return False

    def _get_row(self, row, min_col=1, max_col=None, values_only=False):
        """A row as wide as its last cell, but no wider than MAX_COLUMNS (a cell far to the right would make a row
        of 16,384 values); every cell read counts against ``cells_left``."""
        if self.cells_left is not None:
            self.cells_left -= len(row)
            if self.cells_left < 0:
                raise FileProblem(
                    _(
                        "The file has too many cells: import at most %(max)d rows of the template's columns at a time.",
                        max=self.max_rows,
                    )
                )
        if row:
            max_col = min(max_col or row[-1]["column"], MAX_COLUMNS)
        return super()._get_row(row, min_col, max_col, values_only)


class _FirstSheetReader(ExcelReader):
    """openpyxl's reader, read-only, opening only the first worksheet (a ``_SizedSheet``)."""

    def read_worksheets(self):
        for sheet, rel in self.parser.find_sheets():
            if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                self.wb._sheets.append(_SizedSheet(self.wb, sheet.name, rel.target, self.shared_strings))
                return


def _xlsx_rows(data, max_rows):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise FileProblem(_("This is not a readable XLSX file.")) from error
    if unpacked > MAX_UNPACKED:
        raise FileProblem(
            _(
                "This XLSX file unpacks to more than %(mb)d MB; import at most %(max)d rows at a time.",
                mb=MAX_UNPACKED // (1024 * 1024),
                max=max_rows,
            )
        )
    try:
        reader = _FirstSheetReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read()
        sheet = reader.wb.worksheets[0]
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise FileProblem(_("This is not a readable XLSX file.")) from error
    try:
        if sheet.max_row is not None and sheet.max_row - sheet.min_row > max_rows:  # the header is the first row
            raise too_many_rows(max_rows, sheet.max_row - sheet.min_row)
        # More rows than the header, max_rows rows and max_rows empty ones: refused below in any case, refused
        # here without reading them (a sheet may declare no size, or a smaller one than it has).
        if sheet.has_more_rows_than(2 * max_rows + 1):
            raise too_many_rows(max_rows)
        sheet.reset_dimensions()  # the declared size may be smaller than the sheet: read every row there is
        sheet.max_rows, sheet.cells_left = max_rows, (max_rows + 1) * CELLS_PER_ROW
        try:
            yield from sheet.iter_rows(values_only=True)
        except FileProblem:
            raise
        except Exception as error:
            raise FileProblem(_("This is not a readable XLSX file.")) from error
    finally:
        reader.wb.close()


# ---------------------------------------------------------------- validating rows


@dataclass
class RowError:
    row: int  # as the user sees it in the spreadsheet: the header is row 1
    column: str  # the header as the user wrote it
    message: str


class Importer:
    """Validates rows for one user: lookups are scoped to what the user may see, loaded once per file."""

    def __init__(self, user):
        self.user = user
        self.errors = []
        self.statuses = status_map()

    def map_header(self, header):
        mapping, columns, unknown = header_map(), {}, []
        ignored = export_only_headers()
        for index, text in enumerate(header):
            column = mapping.get(_norm(text))
            if column is None:
                if _norm(text) and _norm(text) not in ignored:
                    unknown.append(str(text))
                continue
            if column.key in columns:
                self.errors.append(RowError(1, str(text), _("This column appears twice.")))
            columns[column.key] = (index, str(text))
        for column in COLUMNS:
            if column.required and column.key not in columns:
                self.errors.append(RowError(1, str(column.header), _("This required column is missing.")))
        for text in unknown:
            self.errors.append(RowError(1, text, _("Unknown column: use the headers of the template.")))
        return columns

    def _load_lookups(self, raw_rows, columns):
        def values(key):
            if key not in columns:
                return set()
            i = columns[key][0]
            return {_text(r[i]) for r in raw_rows if i < len(r) and _text(r[i]) and not has_control(_text(r[i]))}

        numbers = values("contract")
        self.contracts = (
            {c.number: c for c in db.session.scalars(Contract.scoped(self.user, Contract.number.in_(numbers)))}
            if numbers
            else {}
        )
        sites = db.session.scalars(Site.scoped(self.user)).all()
        self.sites = {}
        for site in sites:
            for name in (site.name_zh, site.name_en):
                if name:
                    self.sites.setdefault((site.client_id, _norm(name)), site)
        models = db.session.scalars(sa.select(EquipmentModel)).all()
        # A maker in either language (希沃 or Seewo), Latin letters in any case.
        self.models = {(_norm(maker), _norm(m.model_number)): m for m in models for maker in m.maker_names()}
        serials = values("serial")
        self.taken = set()
        serial_list = sorted(serials)
        for start in range(0, len(serial_list), 500):
            chunk = serial_list[start : start + 500]
            self.taken.update(
                db.session.execute(
                    sa.select(Equipment.model_id, Equipment.serial).where(Equipment.serial.in_(chunk))
                ).all()
            )

    def validate(self, header, raw_rows):
        """The rows as dicts ready to insert, or None with ``self.errors`` filled (every problem, not the first)."""
        columns = self.map_header(header)
        if self.errors:
            return None
        self._load_lookups(raw_rows, columns)
        seen, clean = {}, []
        for offset, raw in enumerate(raw_rows):
            row = self._row(offset + 2, raw, columns, seen)
            if row is not None:
                clean.append(row)
        return None if self.errors else clean

    def _row(self, line, raw, columns, seen):
        """One data row (``line`` as numbered in the spreadsheet): a clean dict, or None with its errors noted."""
        errors_before = len(self.errors)

        def cell(key):
            return _cell(raw, columns, key)

        def fail(key, message):
            header = columns[key][1] if key in columns else str(next(c.header for c in COLUMNS if c.key == key))
            self.errors.append(RowError(line, header, message))

        for column in COLUMNS:
            if column.required and not _text(cell(column.key)):
                fail(column.key, _("Required."))
            elif has_control(_text(cell(column.key))):
                fail(column.key, str(CONTROL_MESSAGE))
        contract = self.contracts.get(_text(cell("contract")))
        if _text(cell("contract")) and contract is None:
            fail("contract", _("No contract with this number (among yours)."))
        site = None
        if contract is not None and _text(cell("site")):
            site = self.sites.get((contract.client_id, _norm(cell("site"))))
            if site is None:
                fail("site", _("No site of this contract's client has this name."))
        model = None
        if _text(cell("manufacturer")) and _text(cell("model")):
            model = self.models.get((_norm(cell("manufacturer")), _norm(cell("model"))))
            if model is None:
                fail("model", _("This model is not in the catalogue; ask the vendor to add it."))
        serial = _text(cell("serial"))
        if len(serial) > 100:
            fail("serial", _("Use at most %(max)d characters.", max=100))
        if model is not None and serial:
            if (model.id, serial) in self.taken:
                fail("serial", _("A unit of this model with this serial number is already registered."))
            elif (model.id, serial) in seen:
                fail("serial", _("The same serial number appears in row %(row)d.", row=seen[(model.id, serial)]))
            else:
                seen[(model.id, serial)] = line
        for key in ("asset_tag", "building", "room"):
            if len(_text(cell(key))) > 100:
                fail(key, _("Use at most %(max)d characters.", max=100))
        dates = {}
        for key in ("installed_on", "warranty_start"):
            try:
                dates[key] = _date(cell(key))
            except ValueError:
                fail(key, _("Not a date: write it as 2026-09-01."))
            else:
                if dates[key] is not None and not DATE_MIN <= dates[key] <= DATE_MAX:
                    fail(
                        key,
                        _("Give a date from %(low)s to %(high)s.", low=DATE_MIN.isoformat(), high=DATE_MAX.isoformat()),
                    )
        months = None
        try:
            months = _whole(cell("warranty_months"))
            if months is not None and not 1 <= months <= 240:
                raise ValueError(months)
        except (ValueError, ArithmeticError):  # Decimal's InvalidOperation, int(Infinity)'s OverflowError
            fail("warranty_months", _("Use a number of months from 1 to 240."))
        price = None
        try:
            price = _money(cell("unit_price"))
            if price is not None and not (price.is_finite() and price >= 0):
                raise ValueError(price)
        except (ValueError, ArithmeticError):  # 1e30 cannot even be rounded to the fen
            fail("unit_price", _("Not an amount: write it as 12800 or 12800.50."))
        else:
            if price is not None and price > MONEY_MAX:
                fail("unit_price", _("The largest amount the portal accepts is %(max)s.", max=yuan(MONEY_MAX)))
        status = Status.IN_SERVICE.value
        if _text(cell("status")):
            status = self.statuses.get(_norm(cell("status")))
            if status is None:
                fail("status", _("Unknown status: use one of the template's."))
        if len(self.errors) > errors_before:
            return None
        start = dates["warranty_start"] or contract.accepted_on
        end = warranty.warranty_end(start, months or contract.warranty_months)
        return {
            "client_id": contract.client_id,
            "site_id": site.id,
            "contract_id": contract.id,
            "model_id": model.id,
            "serial": serial,
            "asset_tag": _text(cell("asset_tag")),
            "building": _text(cell("building")),
            "room": _text(cell("room")),
            "installed_on": dates["installed_on"],
            "warranty_start": dates["warranty_start"],
            "warranty_months": months,
            "unit_price": price,
            "status": status,
            "extension_days": 0,
            "warranty_end": end,
            "covered_until": end,
        }


def _cell(raw, columns, key):
    if key not in columns:
        return None
    index = columns[key][0]
    return raw[index] if index < len(raw) else None


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a serial typed as a number in Excel
    return str(value).strip()


def _date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))


def _whole(value):
    if value in (None, ""):
        return None
    number = Decimal(_text(value))
    if number != number.to_integral_value():
        raise ValueError(value)
    return int(number)


def _money(value):
    if value in (None, ""):
        return None
    try:
        amount = Decimal(_text(value).replace(",", "").replace("¥", "").replace("￥", ""))
    except InvalidOperation as error:
        raise ValueError(value) from error
    return amount.quantize(Decimal("0.01"))


def insert_rows(rows):
    """Insert validated rows in one statement per batch (executemany): thousands of rows in about a second."""
    for start in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Equipment), rows[start : start + 2000])
    db.session.flush()
    return len(rows)


# ---------------------------------------------------------------- writing files


# The example row when the user has nothing of their own to show (a vendor's portal before any contract): the
# format of each column; a contract with this number and a site with this name must exist for it to import.
PLACEHOLDER = {
    "contract": "HT-2026-001",
    "site": _l("Demo District No. 1 Middle School"),
    "maker": "希沃",
    "model": "F86EA",
}


def template_rows(user):
    """The headers in the reader's language and an example row that imports as it is: the user's own contract (an
    accepted one, the latest), a site of its client, a model of its units (or of the catalogue) with the maker in
    the reader's language, and a serial number not yet registered; the placeholders where the user has none."""
    headers = [str(c.header) for c in COLUMNS]
    contract = db.session.scalar(
        Contract.scoped(user)
        .order_by(Contract.accepted_on.is_(None), Contract.accepted_on.desc(), Contract.id.desc())
        .limit(1)
    )
    site = model = None
    if contract is not None:
        site = db.session.scalar(Site.scoped(user, Site.client_id == contract.client_id).order_by(Site.id).limit(1))
        model = db.session.scalar(
            sa.select(EquipmentModel)
            .join(Equipment, Equipment.model_id == EquipmentModel.id)
            .where(Equipment.contract_id == contract.id)
            .order_by(EquipmentModel.id)
            .limit(1)
        )
    model = model or db.session.scalar(sa.select(EquipmentModel).order_by(EquipmentModel.id).limit(1))
    serial = "SN0001"
    if model is not None:
        taken = set(
            db.session.scalars(
                sa.select(Equipment.serial).where(Equipment.model_id == model.id, Equipment.serial.like("SN____"))
            )
        )
        serial = next(f"SN{n:04d}" for n in range(1, len(taken) + 2) if f"SN{n:04d}" not in taken)
    example = [
        contract.number if contract else PLACEHOLDER["contract"],
        site.name if site else str(PLACEHOLDER["site"]),
        model.maker if model else PLACEHOLDER["maker"],
        model.model_number if model else PLACEHOLDER["model"],
        serial,
        "ZC-0001",
        _("Teaching building"),
        "302",
        "2026-03-01",
        "",
        "",
        "12800.00",
        str(Status.IN_SERVICE.label),
    ]
    return headers, example


# A spreadsheet program takes a cell that starts with one of these for a formula, even in a CSV file: an asset tag
# ``=HYPERLINK("http://…","click")`` would become a live link (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(text):
    """Starts like a formula, perhaps after quotes of our own (so that one more quote keeps it reversible)."""
    return text.lstrip("'")[:1] in FORMULA_STARTS


def to_csv_text(value):
    """A cell for a CSV file: text that a spreadsheet would run as a formula gets a ' in front (OWASP); numbers,
    dates and other text are written as they are."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def from_csv_text(text):
    """A CSV cell as the user meant it: the ' that ``to_csv_text`` added is taken off again, so that our own export,
    edited and imported, keeps its values."""
    return text[1:] if text[:1] == "'" and _formula_like(text) else text


CSV_ROWS_PER_CHUNK = 1000  # rows per piece of a streamed CSV: about 150 KB of the equipment list
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_CHUNK = 256 * 1024  # a finished XLSX is sent in pieces this size
SPOOL_MAX = 4 * 2**20  # an XLSX larger than this is written to a temporary file on disk, not kept in memory


def csv_chunks(headers, rows, rows_per_chunk=CSV_ROWS_PER_CHUNK):
    """A CSV file in pieces of UTF-8 bytes, the byte order mark first (so that Excel opens UTF-8 with the right
    characters), each cell through ``to_csv_text``. ``rows`` may be a generator: it is read as the pieces are."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([to_csv_text(value) for value in headers])
    for n, row in enumerate(rows, 1):
        writer.writerow([to_csv_text(value) for value in row])
        if n % rows_per_chunk == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def to_csv(headers, rows):
    return b"".join(csv_chunks(headers, rows))


def write_xlsx(out, headers, rows, title):
    """Write the workbook to ``out`` (a file), one row at a time with XlsxWriter's constant memory mode: each row
    goes to the sheet's temporary file as it comes, so that 100,000 rows never sit in memory at once.

    Text is always a text cell, never a formula (written with ``write_string``: XlsxWriter's ``write`` would make
    "=…" a formula), marked "quote prefix" when it looks like one, like text typed after a ' in Excel, so that
    editing the cell keeps it text; control characters are dropped (XML cannot hold them); numbers and dates stay
    numbers and dates."""
    with tempfile.TemporaryDirectory(prefix="portal-xlsx-") as scratch:  # the sheet's file, gone even on an error
        _write_xlsx(out, headers, rows, title, scratch)


def _write_xlsx(out, headers, rows, title, scratch):
    book = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "tmpdir": scratch,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    sheet = book.add_worksheet(title[:31])
    # XlsxWriter writes a CR as "_x000D_" and a literal "_x0041_" as "_x005F_x0041_"; openpyxl, which reads our
    # imports, does not undo either. Written as they are, as openpyxl itself writes them: a CR reads back as a
    # line feed (XML), "_x0041_" as it was typed (the control characters that XML forbids are dropped below).
    sheet._escape_control_characters = str
    quoted = book.add_format({"quote_prefix": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
    # The methods behind write_string() etc., without their decorator that also accepts "A1" cell names: a third
    # of the time per cell.
    write_string, write_number, write_datetime = sheet._write_string, sheet._write_number, sheet._write_datetime

    def text(r, c, value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        style = quoted if _formula_like(value) else None
        if value.startswith("<r>") and value.endswith("</r>"):
            # XlsxWriter copies such a string into the sheet's XML as it is (its own rich text, pre-formatted):
            # written as three runs of rich text instead (its least), each escaped, it reads back as the same text.
            sheet.write_rich_string(r, c, value[:1], value[1:2], value[2:], *([style] if style else []))
        else:
            write_string(r, c, value, style)

    for r, row in enumerate(itertools.chain([headers], rows)):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                text(r, c, value)
            elif isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float | Decimal):
                write_number(r, c, value)
            elif isinstance(value, datetime):
                write_datetime(r, c, value.replace(tzinfo=None), moment)
            elif isinstance(value, date):
                write_datetime(r, c, value, day)
            else:
                text(r, c, str(value))
    book.close()


def xlsx_file(headers, rows, title):
    """The workbook in a temporary file (in memory while small), read from its start; the caller closes it."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
    try:
        write_xlsx(out, headers, rows, title)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def to_xlsx(headers, rows, title):
    with xlsx_file(headers, rows, title) as out:
        return out.read()


def file_chunks(out, size=None):
    """A file's content in pieces, the file closed at the end or when the download stops half-way."""
    try:
        while chunk := out.read(size or FILE_CHUNK):
            yield chunk
    finally:
        out.close()


def _download(body, mimetype, filename, length=None):
    response = Response(
        body,
        mimetype=mimetype,
        direct_passthrough=True,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )
    if length is not None:
        response.content_length = length
    response.headers["Cache-Control"] = "no-store"  # client data: never in a shared or back-button cache
    return response


def csv_response(headers, rows, filename):
    """A CSV download streamed as it is written: ``rows`` (a generator reading the database in batches) is read
    while the response is sent, inside the request's context again (pushed anew by ``stream_with_context``, which
    ends it, and gives back the database connection, when the last row is sent or the download stops).

    The view has returned and its context was torn down (Flask-SQLAlchemy's session closed) before the first row
    is read: ``rows`` must make its query when first read, as a generator function does; a generator expression
    over ``db.session.scalars(…)`` runs the query at once, in the closed session."""
    return _download(stream_with_context(csv_chunks(headers, rows)), "text/csv; charset=utf-8", filename)


def xlsx_response(headers, rows, title, filename):
    """An XLSX download: a ZIP cannot be sent before it is finished, so the workbook is written (row by row, in
    constant memory) to a temporary file first, then sent from it in pieces; the database is done with before
    the first byte goes out."""
    out = xlsx_file(headers, rows, title)
    length = out.seek(0, os.SEEK_END)
    out.seek(0)
    return _download(file_chunks(out), XLSX_MIMETYPE, filename, length)


def export_headers():
    return [str(c.header) for c in COLUMNS] + [str(h) for _, h in EXPORT_EXTRA]


# What the export reads of each unit: its own columns only, as plain rows (loading 100,000 ORM objects, each with
# its contract, client, site and model joined, was most of the export's time). The few contracts, sites and models
# they point at are loaded once each, a batch at a time.
EXPORT_COLUMNS = (
    Equipment.contract_id,
    Equipment.site_id,
    Equipment.model_id,
    Equipment.serial,
    Equipment.asset_tag,
    Equipment.building,
    Equipment.room,
    Equipment.installed_on,
    Equipment.warranty_start,
    Equipment.warranty_months,
    Equipment.unit_price,
    Equipment.status,
    Equipment.warranty_end,
    Equipment.renewed_until,
    Equipment.covered_until,
)
EXPORT_BATCH = 1000


def export_rows(query, today, expiring_days, batch=EXPORT_BATCH):
    """The export's rows of the units ``query`` (a filtered, scoped, ordered select of Equipment) selects, read
    ``batch`` at a time. Translated labels and the names of sites and clients are looked up once per export, not
    once per row: each costs a gettext or a locale lookup, and 100,000 rows repeat a few of them."""
    contracts, sites, models, labels = {}, {}, {}, {}

    def label(value):
        try:
            return labels[value]
        except KeyError:
            text = labels[value] = str(value.label)
            return text

    def load(known, ids, entity, value, *options):
        if ids := ids - known.keys():
            for item in db.session.scalars(sa.select(entity).where(entity.id.in_(ids)).options(*options)):
                known[item.id] = value(item)

    rows = db.session.execute(query.with_only_columns(*EXPORT_COLUMNS).execution_options(yield_per=batch))
    for part in rows.partitions():
        load(
            contracts,
            {r.contract_id for r in part},
            Contract,
            lambda c: (c.number, c.client.name if c.client else ""),
            joinedload(Contract.client),
        )
        load(sites, {r.site_id for r in part}, Site, lambda s: s.name)
        load(
            models,
            {r.model_id for r in part},
            EquipmentModel,
            lambda m: (m.manufacturer, m.model_number, label(m.category_enum)),
        )
        for r in part:
            number, client = contracts[r.contract_id]
            manufacturer, model_number, category = models[r.model_id]
            state = warranty.state(r.warranty_end, today, expiring_days, renewed_until=r.renewed_until)
            yield [
                number,
                sites[r.site_id],
                manufacturer,
                model_number,
                r.serial,
                r.asset_tag,
                r.building,
                r.room,
                r.installed_on,
                r.warranty_start,
                r.warranty_months,
                r.unit_price,
                label(Status(r.status)),
                client,
                category,
                r.warranty_end,
                label(state),
                warranty.days_left(r.covered_until, today),
            ]

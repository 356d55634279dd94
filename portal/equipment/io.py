"""Equipment in and out of spreadsheets: the CSV/XLSX export of a filtered list, the import template, and the
bulk import (every row validated, errors per row and column, nothing saved unless all rows are valid).

Headers are written in the reader's language and read in either language.
"""
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from openpyxl import Workbook, load_workbook

from ..bounds import CONTROL_MESSAGE, DATE_MAX, DATE_MIN, MONEY_MAX, has_control, yuan
from ..catalog.models import EquipmentModel
from ..contracts.models import Contract
from ..extensions import db
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
    """The file as a whole cannot be read (not CSV/XLSX, no header row, too many rows)."""


def read_rows(filename, data, max_rows):
    """The file's header row and data rows, as lists of cell values (str, numbers, dates)."""
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a broken file
            raise FileProblem(_("This is not a readable XLSX file.")) from error
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
    elif name.endswith(".csv") or name.endswith(".txt"):
        for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FileProblem(_("The CSV file is not in UTF-8 or GBK encoding."))
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise FileProblem(_("Upload a .csv or .xlsx file."))
    rows = [r for r in rows if any(c not in (None, "") for c in r)]
    if not rows:
        raise FileProblem(_("The file is empty."))
    if len(rows) - 1 > max_rows:
        raise FileProblem(_("The file has %(count)d rows; import at most %(max)d at a time.",
                            count=len(rows) - 1, max=max_rows))
    return rows[0], rows[1:]


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
        for index, text in enumerate(header):
            column = mapping.get(_norm(text))
            if column is None:
                if _norm(text):
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
        self.contracts = {c.number: c for c in db.session.scalars(Contract.scoped(self.user, Contract.number.in_(numbers)))} if numbers else {}
        sites = db.session.scalars(Site.scoped(self.user)).all()
        self.sites = {}
        for site in sites:
            for name in (site.name_zh, site.name_en):
                if name:
                    self.sites.setdefault((site.client_id, _norm(name)), site)
        models = db.session.scalars(sa.select(EquipmentModel)).all()
        self.models = {(_norm(m.manufacturer), _norm(m.model_number)): m for m in models}
        serials = values("serial")
        self.taken = set()
        serial_list = sorted(serials)
        for start in range(0, len(serial_list), 500):
            chunk = serial_list[start:start + 500]
            self.taken.update(db.session.execute(
                sa.select(Equipment.model_id, Equipment.serial).where(Equipment.serial.in_(chunk))).all())

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
                    fail(key, _("Give a date from %(low)s to %(high)s.", low=DATE_MIN.isoformat(),
                                high=DATE_MAX.isoformat()))
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
            "client_id": contract.client_id, "site_id": site.id, "contract_id": contract.id,
            "model_id": model.id, "serial": serial, "asset_tag": _text(cell("asset_tag")),
            "building": _text(cell("building")), "room": _text(cell("room")),
            "installed_on": dates["installed_on"], "warranty_start": dates["warranty_start"],
            "warranty_months": months, "unit_price": price, "status": status, "extension_days": 0,
            "warranty_end": end, "covered_until": end,
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
        db.session.execute(sa.insert(Equipment), rows[start:start + 2000])
    db.session.flush()
    return len(rows)


# ---------------------------------------------------------------- writing files


def template_rows():
    headers = [str(c.header) for c in COLUMNS]
    example = ["HT-2026-001", _("Demo District No. 1 Middle School"), "Seewo", "F86EA", "SN0001", "ZC-0001",
               _("Teaching building"), "302", "2026-03-01", "", "", "12800.00", str(Status.IN_SERVICE.label)]
    return headers, example


def to_csv(headers, rows):
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel opens UTF-8 with the right characters
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(headers, rows, title):
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_headers():
    return [str(c.header) for c in COLUMNS] + [str(h) for _, h in EXPORT_EXTRA]


def export_row(unit, today, expiring_days):
    state = unit.warranty_state(today, expiring_days)
    return [
        unit.contract.number, unit.site.name, unit.model.manufacturer, unit.model.model_number, unit.serial,
        unit.asset_tag, unit.building, unit.room, unit.installed_on, unit.warranty_start, unit.warranty_months,
        unit.unit_price, str(unit.status_enum.label),
        unit.contract.client.name if unit.contract.client else "", str(unit.model.category_enum.label),
        unit.warranty_end, str(state.label), unit.days_left(today),
    ]

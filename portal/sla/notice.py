"""Reading the State Council's holiday notice (国务院办公厅关于××××年部分节假日安排的通知) pasted as text.

The notice's items have one form, year after year::

    一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
    五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。
    一、元旦：1月1日（周三）放假1天，不调休。

``parse_notice`` turns each item into its days off and swapped working days (调休上班), checks what the notice
itself lets one check (the weekday in brackets, the number of days, a working day that is also a day off, a day in
two items) and returns every line it could not read with the reason: nothing is dropped silently. Lines that are
not items (the title, the greeting, the closing paragraph, the signature) are returned as skipped. Pure: no
database, no request; messages are rendered when shown (``Problem.message``).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_DAYS = 31  # the longest holiday one item (or the range form) may give
YEARS = (2000, 2100)  # as CALENDAR_YEARS

NAMES_EN = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Tomb-sweeping Day",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆节": "National Day",
}
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

# After NFKC: （）：， are ASCII, full-width digits are ASCII; 、。 stay.
DATE = r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日(?:\(([^()]*)\))?"
DATE_RE = re.compile(DATE)
ITEM = re.compile(r"(?:[一二三四五六七八九十]+、)?([^:、,。()\d][^:,。()\d]*):(.+)")
HOLIDAY = re.compile(rf"({DATE})(?:至({DATE}))?放假(.*)")
HOLIDAY_TAIL = re.compile(r"(?:调休)?(?:(\d+)天)?(?:,(?:共(\d+)天|不调休|与周末连休))*")
WORKDAYS = re.compile(rf"({DATE}(?:、{DATE})*)上班")
WEEKDAY = re.compile(r"(?:周|星期)([一二三四五六日天])")
TITLE_YEAR = re.compile(r"(\d{4})年(?:部分节假日安排|元旦、)")
NUMBERED = re.compile(r"[一二三四五六七八九十]+、")
SOME_DATE = re.compile(r"\d+日")


def english_name(name_zh):
    """The English name of a holiday (or of several joined by 、), "" when one of them is not known."""
    names = [NAMES_EN.get(n) for n in name_zh.split("、")]
    return "" if None in names else ", ".join(names)


@dataclass
class Item:
    """One holiday of the notice: its days off and the weekend days worked in exchange."""

    line: int
    text: str
    name_zh: str
    name_en: str
    days_off: list = field(default_factory=list)
    workdays: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # sentences that are not days (鼓励……休息), shown, not saved


@dataclass
class Problem:
    """A line the parser could not read, or read and found wrong: ``code`` says why, ``message`` in words."""

    line: int
    text: str
    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self):
        from flask_babel import format_date
        from flask_babel import gettext as _

        p = {k: format_date(v, "long") if isinstance(v, date) else v for k, v in self.params.items()}
        if self.code == "weekday":
            p["weekday"] = format_date(self.params["date"], "EEEE")
        return {
            "line": lambda: _(
                "This line is not in the notice's form, e.g. “一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。”"
            ),
            "unreadable": lambda: _(
                "This line is not in the notice's form, e.g. “一、元旦：1月1日（周五）至3日（周日）"
                "放假调休，共3天。”: %(part)s",
                **p,
            ),
            "no_date": lambda: _("“%(part)s” is not a date.", **p),
            "weekday": lambda: _(
                "%(date)s is a %(weekday)s, but the notice says %(said)s: check the year and the date.", **p
            ),
            "ends_before": lambda: _("The holiday ends before it starts."),
            "too_long": lambda: _("A holiday lasts at most %(max)d days.", **p),
            "count": lambda: _("The line says %(said)d days, but %(first)s to %(last)s is %(days)d days.", **p),
            "both": lambda: _("%(date)s is both a day off and a working day.", **p),
            "twice": lambda: _("%(date)s is already in line %(other)d.", **p),
            "years": lambda: _("%(date)s is outside the calendar's years (2000 to 2100).", **p),
        }[self.code]()


@dataclass
class Notice:
    year: int
    items: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [(line, text)]: not items, not read

    @property
    def ok(self):
        return bool(self.items) and not self.problems


class LineError(Exception):
    def __init__(self, code, **params):
        super().__init__(code)
        self.code, self.params = code, params


def normalise(line):
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", line))


def notice_year(text):
    """The year the notice's title or first sentence names (2027年部分节假日安排), else None."""
    found = TITLE_YEAR.search(normalise(text))
    return int(found.group(1)) if found else None


def parse_notice(text, year):
    """The notice ``text`` for ``year`` (the year its title names wins): a ``Notice``."""
    year = notice_year(text) or year
    notice, seen = Notice(year=year), {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = normalise(raw)
        shown = raw.strip()
        if not line:
            continue
        item = ITEM.fullmatch(line)
        looks_like_item = NUMBERED.match(line) or (SOME_DATE.search(line) and ("放假" in line or "上班" in line))
        if item is None or not SOME_DATE.search(line):
            if looks_like_item:
                notice.problems.append(Problem(number, shown, "line"))
            elif not TITLE_YEAR.search(line):
                notice.skipped.append((number, shown))
            continue
        try:
            parsed = parse_item(number, shown, item.group(1), item.group(2), year)
            for day in parsed.days_off + parsed.workdays:
                if day in seen:
                    raise LineError("twice", date=day, other=seen[day])
        except LineError as error:
            notice.problems.append(Problem(number, shown, error.code, error.params))
            continue
        for day in parsed.days_off + parsed.workdays:
            seen[day] = number
        notice.items.append(parsed)
    return notice


def parse_item(number, shown, name, body, year):
    item = Item(line=number, text=shown, name_zh=name, name_en=english_name(name))
    sentences = [s for s in body.split("。") if s]
    first = HOLIDAY.fullmatch(sentences[0]) if sentences else None
    if first is None:
        raise LineError("unreadable", part=sentences[0] if sentences else shown)
    start = to_date(DATE_RE.fullmatch(first.group(1)), year, None)
    end = to_date(DATE_RE.fullmatch(first.group(6)), start.year, start.month) if first.group(6) else start
    tail = HOLIDAY_TAIL.fullmatch(first.group(11))
    if tail is None:
        raise LineError("unreadable", part=first.group(11))
    if end < start:
        raise LineError("ends_before")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise LineError("too_long", max=MAX_DAYS)
    said = tail.group(1) or tail.group(2)
    if said and int(said) != days:
        raise LineError("count", said=int(said), first=start, last=end, days=days)
    item.days_off = [start + timedelta(days=n) for n in range(days)]
    for sentence in sentences[1:]:
        worked = WORKDAYS.fullmatch(sentence)
        if worked is None:
            if "上班" in sentence or "放假" in sentence:
                raise LineError("unreadable", part=sentence)
            item.notes.append(sentence)  # a recommendation (鼓励各单位……), not a day of the schedule: shown
            continue
        month, year_of = None, year
        for found in DATE_RE.finditer(worked.group(1)):
            day = to_date(found, year_of, month)  # 2月14日、28日: the month (and year) of the date before
            month, year_of = day.month, day.year
            if day in item.days_off:
                raise LineError("both", date=day)
            item.workdays.append(day)
    return item


def to_date(found, year, month):
    """The date a DATE match names: its own year and month, else the ones given; its weekday checked."""
    y = int(found.group(1)) if found.group(1) else year
    m = int(found.group(2)) if found.group(2) else month
    if m is None:
        raise LineError("no_date", part=found.group(0))
    try:
        day = date(y, m, int(found.group(3)))
    except ValueError:
        raise LineError("no_date", part=found.group(0)) from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise LineError("years", date=day)
    said = WEEKDAY.search(found.group(4) or "")
    if said and WEEKDAYS[said.group(1)] != day.weekday():
        raise LineError("weekday", date=day, said=said.group(0))
    return day

"""Loading the official schedule from the chinesecalendar package, and the calendar the clocks use."""

from datetime import date

import sqlalchemy as sa

from ..extensions import db
from .calendar import BusinessCalendar
from .models import CalendarDay, CalendarYear, DayKind

NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def library_schedule(from_year):
    """(holidays, workdays, years) the installed chinesecalendar knows, from ``from_year`` on."""
    from chinese_calendar import constants

    holidays = {d: n for d, n in constants.holidays.items() if d.year >= from_year}
    workdays = {d: n for d, n in constants.workdays.items() if d.year >= from_year}
    years = {d.year for d in holidays}
    return holidays, workdays, years


def load_from_library(from_year=2020):
    """Add the library's days and mark its years confirmed; a day someone corrected by hand is kept."""
    holidays, workdays, years = library_schedule(from_year)
    manual = set(db.session.scalars(sa.select(CalendarDay.day).where(CalendarDay.source == "manual")))
    existing = {d.day: d for d in db.session.scalars(sa.select(CalendarDay).where(CalendarDay.source == "library"))}
    added = 0
    for kind, days in ((DayKind.HOLIDAY, holidays), (DayKind.WORKDAY, workdays)):
        for day, name in days.items():
            if day in manual:
                continue
            row = existing.get(day) or CalendarDay(day=day, source="library")
            row.kind, row.name_en, row.name_zh = kind.value, name, NAMES_ZH.get(name, name)
            if day not in existing:
                db.session.add(row)
                added += 1
    known = {y.year: y for y in db.session.scalars(sa.select(CalendarYear))}
    for year in years:
        if year not in known:
            db.session.add(CalendarYear(year=year, confirmed=True, source="library"))
    db.session.flush()
    return added, sorted(years)


def business_calendar():
    """The calendar as the database holds it now."""
    holidays, workdays = {}, {}
    for day in db.session.scalars(sa.select(CalendarDay)):
        (holidays if day.kind == DayKind.HOLIDAY else workdays)[day.day] = day.name
    confirmed = set(db.session.scalars(sa.select(CalendarYear.year).where(CalendarYear.confirmed.is_(True))))
    return BusinessCalendar(holidays=holidays, workdays=workdays, confirmed_years=confirmed)


def replacements(holidays):
    """The days saving ``holidays`` ([(name_zh, days_off, workdays)]) removes: the same holidays' earlier days of
    the same years (a corrected range replaces the old one), other than the days being saved."""
    names = {name for name, _, _ in holidays}
    new = {d for _, off, worked in holidays for d in (*off, *worked)}
    years = {d.year for d in new}
    if not names:
        return []
    rows = db.session.scalars(
        sa.select(CalendarDay)
        .where(
            CalendarDay.name_zh.in_(names),
            CalendarDay.day >= date(min(years), 1, 1),
            CalendarDay.day <= date(max(years), 12, 31),
        )
        .order_by(CalendarDay.day)
    )
    return [row for row in rows if row.day not in new and row.day.year in years]


def save_holidays(holidays, user_id):
    """Save holidays as entered by hand ([(name_zh, name_en, days_off, workdays)]): their days become days off and
    swapped working days (source "manual"), replacing whatever those days held and the holidays' earlier days of
    the same years. The caller commits; saving the same holidays again changes nothing."""
    for row in replacements([(name, off, worked) for name, _, off, worked in holidays]):
        db.session.delete(row)
    days = [d for _, _, off, worked in holidays for d in (*off, *worked)]
    existing = {row.day: row for row in db.session.scalars(sa.select(CalendarDay).where(CalendarDay.day.in_(days)))}
    for name_zh, name_en, off, worked in holidays:
        for kind, group in ((DayKind.HOLIDAY, off), (DayKind.WORKDAY, worked)):
            for day in group:
                row = existing.get(day)
                if row is None:
                    row = existing[day] = CalendarDay(day=day)
                    db.session.add(row)
                row.kind, row.name_zh, row.name_en = kind.value, name_zh, name_en
                row.source, row.updated_by_id = "manual", user_id
    db.session.flush()

"""The holiday calendar the vendor manager sees and corrects."""
from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from portal.sla.holidays import business_calendar, load_from_library
from portal.sla.models import CalendarDay, CalendarYear

EN = {"Accept-Language": "en"}


def test_library_load_is_idempotent_and_keeps_corrections(app, world):
    with app.app_context():
        db.session.merge(CalendarDay(day=date(2026, 10, 8), kind="holiday", name_zh="调整", source="manual"))
        added, years = load_from_library(2026)
        db.session.commit()
        assert added > 20 and years == [2026]
        again, _ = load_from_library(2026)
        assert again == 0
        assert db.session.get(CalendarDay, date(2026, 10, 8)).source == "manual"  # kept, not overwritten
        calendar = business_calendar()
        assert not calendar.is_working_day(date(2026, 10, 8)) and calendar.is_working_day(date(2026, 10, 10))
        assert calendar.confirmed_years == {2026}


def test_manager_enters_next_years_schedule_and_confirms_it(app, world):
    manager = app.test_client(user=world.manager)
    page = manager.get("/settings/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "The 2027 schedule is not confirmed" in page
    data = {"day": "2027-02-06", "kind": "workday", "name_zh": "春节调休", "name_en": "Spring Festival"}
    assert manager.post("/settings/calendar/days", data=data).status_code == 302
    assert manager.post("/settings/calendar/2027/confirm", data={"confirmed": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(CalendarYear, 2027).confirmed
        assert business_calendar().is_working_day(date(2027, 2, 6))  # a Saturday, worked
    page = manager.get("/settings/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "The 2027 schedule is not confirmed" not in page and "entered by" in page


def test_calendar_form_errors_and_removal(app, world):
    manager = app.test_client(user=world.manager)
    body = manager.post("/settings/calendar/days", data={"day": "2027-13-01", "kind": "holiday", "name_zh": ""},
                        headers=EN).get_data(as_text=True)
    assert "Not a valid date value." in body and "This field is required." in body
    assert manager.post("/settings/calendar/days/2026-10-01/delete").status_code == 302
    assert manager.post("/settings/calendar/days/2026-10-01/delete").status_code == 404
    assert manager.post("/settings/calendar/days/not-a-date/delete").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0

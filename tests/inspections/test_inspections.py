"""Plans and the schedule they make, overdue visits, recording with per-unit results, sign-off and dispute,
findings turned into fault reports, the calendar feed, scoping, and the service log."""

import io
from datetime import date, timedelta

import icalendar
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.extensions import db
from portal.i18n import local_today
from portal.inspections.models import InspectionPlan, ServiceLog, Visit, VisitUnit
from portal.tickets.models import Ticket


def visits(app, **where):
    with app.app_context():
        query = sa.select(Visit)
        for key, value in where.items():
            query = query.where(getattr(Visit, key) == value)
        found = db.session.scalars(query.order_by(Visit.due_on, Visit.id)).all()
        db.session.expunge_all()
        return found


def get(app, model, id_):
    with app.app_context():
        obj = db.session.get(model, id_)
        db.session.expunge_all()
        return obj


def today(app):
    with app.test_request_context():
        return local_today()


PLAN = {"frequency": "quarterly", "phone_visits": "4", "return_visits": "y", "end_of_life": "y"}


def test_the_manager_sets_a_plan_and_the_visits_are_scheduled_from_today(app, world, make):
    contract = make.contract(world.a, accepted_on=today(app) - timedelta(days=400), warranty_months=36)
    make.unit(contract, world.a_site1, world.model, serial="P-1")
    make.unit(contract, world.a_site2, world.model, serial="P-2")
    manager = app.test_client(user=world.manager)
    response = manager.post(f"/inspections/plans/{contract.id}?lang=en", data=PLAN)
    assert response.status_code == 302
    scheduled = visits(app, contract_id=contract.id)
    start = today(app)
    assert scheduled and all(v.due_on >= start and v.status == "scheduled" for v in scheduled)
    inspections = [v for v in scheduled if v.kind == "inspection"]
    assert {v.site_id for v in inspections} == {world.a_site1.id, world.a_site2.id}  # every site with units
    assert all(v.due_on.day == 15 and v.due_on.month in (3, 6, 9, 12) for v in inspections)
    assert [v.kind for v in scheduled].count("end_of_life") == 2
    assert all(v.site_id is None for v in scheduled if v.kind in ("phone_visit", "return_visit"))
    # Saving again schedules the same visits, not twice; a chosen site narrows the inspections.
    assert manager.post(f"/inspections/plans/{contract.id}", data=PLAN).status_code == 302
    assert len(visits(app, contract_id=contract.id)) == len(scheduled)
    manager.post(
        f"/inspections/plans/{contract.id}", data={**PLAN, "frequency": "half_yearly", "sites": [str(world.a_site1.id)]}
    )
    again = [v for v in visits(app, contract_id=contract.id) if v.kind == "inspection"]
    assert {v.site_id for v in again} == {world.a_site1.id} and {v.due_on.month for v in again} <= {1, 7}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(InspectionPlan.id))) == 1


def test_recorded_visits_survive_a_new_plan(app, world, make):
    contract = make.contract(world.a, accepted_on=today(app) - timedelta(days=100))
    make.unit(contract, world.a_site1, world.model, serial="P-3")
    manager = app.test_client(user=world.manager)
    manager.post(f"/inspections/plans/{contract.id}", data=PLAN)
    first = visits(app, contract_id=contract.id, kind="inspection")[0]
    agent = app.test_client(user=world.agent)
    assert (
        agent.post(
            f"/inspections/{first.id}/record",
            data={"done_on": first.due_on.isoformat(), "method": "on_site", "engineers": "张工"},
        ).status_code
        == 302
    )
    manager.post(f"/inspections/plans/{contract.id}", data={**PLAN, "frequency": "none"})
    left = visits(app, contract_id=contract.id, kind="inspection")
    assert [v.id for v in left] == [first.id] and left[0].status == "done"


def test_a_plan_needs_valid_numbers_and_the_clients_own_sites(app, world):
    response = app.test_client(user=world.manager).post(
        f"/inspections/plans/{world.contract_a.id}?lang=en",
        data={"frequency": "quarterly", "phone_visits": "20", "sites": [str(world.b_site.id)], "months": ["13"]},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Give a number from 0 to 12." in page and "Choose among the client" in page
    assert "Choose months from 1 to 12." in page and 'value="20"' in page


def test_overdue_visits_are_flagged_for_the_vendor_and_the_client_only(app, world, make):
    late = make.visit(world.contract_a, world.a_site1, due_on=today(app) - timedelta(days=3))
    make.visit(world.contract_a, world.a_site1, due_on=today(app) + timedelta(days=10))
    for user in (world.manager, world.a_admin, world.a_school):
        page = app.test_client(user=user).get("/inspections/?state=overdue&lang=en").get_data(as_text=True)
        assert f"/inspections/{late.id}" in page and "Overdue" in page, user.email
        home = app.test_client(user=user).get("/?lang=en").get_data(as_text=True)
        assert "Inspections and visits" in home
    for user in (world.b_admin, world.a_school2):
        page = app.test_client(user=user).get("/inspections/?state=overdue").get_data(as_text=True)
        assert f"/inspections/{late.id}" not in page
    with app.test_request_context():
        from portal.auth.models import User
        from portal.inspections.services import counts

        assert counts(db.session.get(User, world.a_admin.id), today(app))["overdue"] == 1
        assert counts(db.session.get(User, world.b_admin.id), today(app))["overdue"] == 0
        assert counts(db.session.get(User, world.manager.id), today(app))["soon"] == 1


def record_form(**changes):
    data = {
        "done_on": "2026-03-16",
        "method": "on_site",
        "engineers": "张工、李工",
        "hardware": "外观正常",
        "software": "补丁已更新",
        "risks": "机房温度偏高",
        "recommendations": "加装空调",
    }
    data.update(changes)
    return data


def test_recording_an_inspection_with_per_unit_results(app, world, make):
    visit = make.visit(world.contract_a, world.a_site1)
    agent = app.test_client(user=world.agent)
    # An issue without a note is refused, and what was typed stays.
    response = agent.post(
        f"/inspections/{visit.id}/record?lang=en",
        data=record_form(**{f"unit-{world.unit_a1.id}-result": "issue", f"unit-{world.unit_a1.id}-note": ""}),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Say what was found." in page and "机房温度偏高" in page
    assert get(app, Visit, visit.id).status == "scheduled"
    response = agent.post(
        f"/inspections/{visit.id}/record",
        data=record_form(**{f"unit-{world.unit_a1.id}-result": "issue", f"unit-{world.unit_a1.id}-note": "屏幕闪烁"}),
    )
    assert response.status_code == 302
    done = get(app, Visit, visit.id)
    assert (done.status, done.done_on, done.method, done.risks) == (
        "done",
        date(2026, 3, 16),
        "on_site",
        "机房温度偏高",
    )
    with app.app_context():
        rows = db.session.scalars(sa.select(VisitUnit).where(VisitUnit.visit_id == visit.id)).all()
        assert [(r.equipment_id, r.result, r.note) for r in rows] == [(world.unit_a1.id, "issue", "屏幕闪烁")]
    unit_page = (
        app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}?lang=en").get_data(as_text=True)
    )
    assert "屏幕闪烁" in unit_page and "Issue found" in unit_page
    report = app.test_client(user=world.a_school).get(f"/inspections/{visit.id}/report?lang=zh").get_data(as_text=True)
    assert "巡检报告" in report and "屏幕闪烁" in report and "加装空调" in report


def test_sign_off_and_dispute(app, world, make):
    visit = make.visit(world.contract_a, world.a_site1, recorded_by=world.agent)
    school = app.test_client(user=world.a_school)
    response = school.post(f"/inspections/{visit.id}/dispute?lang=en", data={"reason": ""})
    assert "Say what is wrong" in response.get_data(as_text=True)
    assert school.post(f"/inspections/{visit.id}/dispute", data={"reason": "日期不对"}).status_code == 302
    disputed = get(app, Visit, visit.id)
    assert disputed.status == "disputed" and disputed.dispute_reason == "日期不对"
    agent = app.test_client(user=world.agent)
    assert agent.post(f"/inspections/{visit.id}/record", data=record_form(done_on="2026-03-17")).status_code == 302
    assert get(app, Visit, visit.id).status == "done"
    response = school.post(f"/inspections/{visit.id}/sign?lang=en", data={"name": "周敏"})
    assert "Choose a rating from 1 to 5." in response.get_data(as_text=True)
    assert (
        school.post(
            f"/inspections/{visit.id}/sign", data={"name": "周敏", "satisfaction": "4", "comment": "认真"}
        ).status_code
        == 302
    )
    signed = get(app, Visit, visit.id)
    assert (signed.status, signed.signed_name, signed.satisfaction, signed.signed_by_id) == (
        "signed",
        "周敏",
        4,
        world.a_school.id,
    ) and signed.signed_at is not None
    # A signed record is final: no second signature, no dispute, no correction.
    assert school.post(f"/inspections/{visit.id}/sign", data={"name": "周敏", "satisfaction": "5"}).status_code == 400
    assert school.post(f"/inspections/{visit.id}/dispute", data={"reason": "x"}).status_code == 400
    assert agent.post(f"/inspections/{visit.id}/record", data=record_form()).status_code == 302
    assert get(app, Visit, visit.id).done_on == date(2026, 3, 17)
    history = school.get(f"/sites/{world.a_site1.id}?lang=en").get_data(as_text=True)
    assert f"/inspections/{visit.id}" in history and "Signed off" in history


def test_a_scheduled_visit_cannot_be_signed(app, world, make):
    visit = make.visit(world.contract_a, world.a_site1)
    response = app.test_client(user=world.a_admin).post(
        f"/inspections/{visit.id}/sign", data={"name": "王", "satisfaction": "5"}
    )
    assert response.status_code == 400 and get(app, Visit, visit.id).status == "scheduled"


def test_a_finding_becomes_a_fault_report_in_one_step(app, world):
    row = world.visit_row_a
    agent = app.test_client(user=world.agent)
    response = agent.post(f"/inspections/{row.visit_id}/units/{row.id}/ticket", data={"severity": "B"})
    assert response.status_code == 302
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).order_by(Ticket.id.desc()))
        assert (ticket.equipment_id, ticket.site_id, ticket.severity, ticket.channel) == (
            world.unit_a1.id,
            world.a_site1.id,
            "B",
            "on_site",
        )
        assert ticket.description == "触控失灵" and db.session.get(VisitUnit, row.id).ticket_id == ticket.id
        count = db.session.scalar(sa.select(sa.func.count(Ticket.id)))
    assert response.headers["Location"] == f"/tickets/{ticket.id}"
    again = agent.post(f"/inspections/{row.visit_id}/units/{row.id}/ticket", data={"severity": "B"})
    assert again.headers["Location"] == f"/tickets/{ticket.id}"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == count
    page = app.test_client(user=world.a_school).get(f"/inspections/{row.visit_id}").get_data(as_text=True)
    assert ticket.number in page


def feed_url(client):
    page = client.post("/inspections/calendar", data={"action": "new"}).get_data(as_text=True)
    start = page.index("http://localhost/inspections/calendar/")
    return page[start : page.index('"', start)].replace("http://localhost", "")


def test_the_calendar_feed_is_valid_icalendar_of_ones_own_visits_and_can_be_revoked(app, world, make):
    mine = make.visit(world.contract_a, world.a_site1, due_on=today(app) + timedelta(days=20))
    other_school = make.visit(world.contract_a2, world.a_site2, due_on=today(app) + timedelta(days=21))
    other_client = make.visit(world.contract_b, world.b_site, due_on=today(app) + timedelta(days=22))
    school = app.test_client(user=world.a_school)
    url = feed_url(school)
    response = app.test_client().get(url)  # a calendar program: no session
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    body = response.get_data()
    assert b"\r\n" in body and all(len(line) <= 75 for line in body.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(body)
    events = [e for e in calendar.walk("VEVENT")]
    uids = {str(e["UID"]).split("@")[0] for e in events}
    assert f"visit-{mine.id}" in uids
    assert f"visit-{other_school.id}" not in uids and f"visit-{other_client.id}" not in uids
    event = next(e for e in events if str(e["UID"]).startswith(f"visit-{mine.id}@"))
    assert event.decoded("DTSTART") == mine.due_on and "甲一中" in str(event["SUMMARY"])
    assert world.contract_a.number in str(event["DESCRIPTION"]) and str(event["URL"]).endswith(
        f"/inspections/{mine.id}"
    )
    # A new address replaces the old; revoking leaves none.
    newer = feed_url(school)
    assert newer != url and app.test_client().get(url).status_code == 404
    assert app.test_client().get(newer).status_code == 200
    school.post("/inspections/calendar", data={"action": "revoke"})
    assert app.test_client().get(newer).status_code == 404
    assert app.test_client().get("/inspections/calendar/guess.ics").status_code == 404


def test_lists_hold_only_the_users_own_visits_and_logs(app, world):
    def seen(user, url):
        page = app.test_client(user=user).get(url).get_data(as_text=True)
        return page

    page = seen(world.a_school, "/inspections/?state=all")
    assert f'/inspections/{world.visit_a.id}"' in page and f'/inspections/{world.visit_a2.id}"' not in page
    assert f'/inspections/{world.visit_b.id}"' not in page
    page = seen(world.a_admin, "/inspections/?state=all")
    assert f'/inspections/{world.visit_a2.id}"' in page and f'/inspections/{world.visit_b.id}"' not in page
    logs = seen(world.a_school, "/inspections/log?month=2026-03")
    assert f'log-{world.log_a.id}"' in logs and f'log-{world.log_a2.id}"' not in logs
    assert f'log-{world.log_b.id}"' not in logs
    fragment = app.test_client(user=world.manager).get("/inspections/?state=all", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and f"/inspections/{world.visit_b.id}" in fragment.get_data(
        as_text=True
    )


def log_form(world, **changes):
    data = {
        "contract": world.contract_a.id,
        "site": world.a_site1.id,
        "work_date": "2026-03-03",
        "engineers": "刘工、陈工",
        "headcount": "2",
        "time_in": "08:30",
        "time_out": "17:00",
        "place": "机房",
        "work_done": "更换交换机模块",
        "result": "网络恢复",
    }
    data.update(changes)
    return data


def test_the_service_log_is_kept_signed_and_exported_by_month(app, world):
    agent = app.test_client(user=world.agent)
    response = agent.post("/inspections/log/new?lang=en", data=log_form(world, time_out="08:00", work_done=""))
    page = response.get_data(as_text=True)
    assert "The time out must be after the time in." in page and "Describe the work done." in page
    assert 'value="刘工、陈工"' in page
    response = agent.post("/inspections/log/new?lang=en", data=log_form(world, site=world.b_site.id))
    assert "This site is not the contract" in response.get_data(as_text=True)  # another client's site
    assert agent.post("/inspections/log/new", data=log_form(world)).status_code == 302
    with app.app_context():
        entry = db.session.scalar(sa.select(ServiceLog).where(ServiceLog.work_done == "更换交换机模块"))
        entry_id = entry.id
    admin = app.test_client(user=world.a_admin)
    march = admin.get("/inspections/log?month=2026-03&lang=en").get_data(as_text=True)
    assert "更换交换机模块" in march and "2 people" in march
    assert "更换交换机模块" not in admin.get("/inspections/log?month=2026-04").get_data(as_text=True)
    assert admin.post(f"/inspections/log/{entry_id}/sign", data={"name": "王主任"}).status_code == 302
    signed = get(app, ServiceLog, entry_id)
    assert signed.signed_name == "王主任" and signed.signed_by_id == world.a_admin.id
    export = admin.get("/inspections/log.xlsx?month=2026-03&lang=zh")
    sheet = load_workbook(io.BytesIO(export.get_data())).active
    rows = list(sheet.values)
    assert rows[0][0] == "日期" and any("更换交换机模块" in r and "王主任" in r for r in rows[1:])
    assert all("乙" not in str(cell) for r in rows for cell in r)  # only the client's own entries


@pytest.mark.parametrize("url", ["/inspections/?state=all", "/inspections/log?month=2026-03"])
def test_lists_need_the_same_queries_with_many_rows(app, world, make, count_queries, url):
    browser = app.test_client(user=world.manager)
    with count_queries() as few:
        assert browser.get(url).status_code == 200
    for n in range(30):
        client = make.client()
        site = make.site(client)
        contract = make.contract(client)
        make.visit(contract, site, due_on=date(2026, 3, 1) + timedelta(days=n))
        make.service_log(contract, site, work_date=date(2026, 3, 1 + n % 28))
    with count_queries() as many:
        assert browser.get(url).status_code == 200
    assert many.count == few.count, many.statements


def test_a_visits_page_needs_the_same_queries_with_many_units(app, world, make, count_queries):
    browser = app.test_client(user=world.a_school)
    visit = make.visit(
        world.contract_a, world.a_site1, recorded_by=world.agent, results={world.unit_a1: ("issue", "x")}
    )
    with count_queries() as few:
        assert browser.get(f"/inspections/{visit.id}").status_code == 200
    units = [make.unit(world.contract_a, world.a_site1, world.model, serial=f"Q-{n}") for n in range(20)]
    busy = make.visit(
        world.contract_a,
        world.a_site1,
        recorded_by=world.agent,
        results={u: ("ok", "") for u in [world.unit_a1, *units]},
    )
    with count_queries() as many:
        assert browser.get(f"/inspections/{busy.id}").status_code == 200
    assert many.count == few.count, many.statements


def test_attachments_are_checked_by_content_and_kept_with_the_record(app, world, make):
    from portal.documents.samples import pdf

    visit = make.visit(world.contract_a, world.a_site1)
    agent = app.test_client(user=world.agent)
    response = agent.post(
        f"/inspections/{visit.id}/record?lang=en",
        data={**record_form(), "attachments": [(io.BytesIO(b"not a pdf"), "签字单.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "“签字单.pdf” is not a real PDF file" in response.get_data(as_text=True)
    assert get(app, Visit, visit.id).status == "scheduled"
    response = agent.post(
        f"/inspections/{visit.id}/record",
        data={**record_form(), "attachments": [(io.BytesIO(pdf("signed")), "签字单.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        item = db.session.get(Visit, visit.id).attachments[0]
        assert (item.filename, item.content_type) == ("签字单.pdf", "application/pdf")
        attachment_id = item.id
    school = app.test_client(user=world.a_school)
    assert school.get(f"/inspections/{visit.id}/attachments/{attachment_id}").get_data() == pdf("signed")
    other = app.test_client(user=world.a_school2)
    assert other.get(f"/inspections/{visit.id}/attachments/{attachment_id}").status_code == 404


def test_an_extra_visit_is_planned_then_recorded(app, world):
    agent = app.test_client(user=world.agent)
    data = {"contract": world.contract_a.id, "site": world.a_site1.id, "kind": "extra", "due_on": "2026-05-04"}
    response = agent.post("/inspections/new", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/record")
    visit = visits(app, kind="extra")[0]
    assert (visit.site_id, visit.client_id, visit.due_on, visit.status) == (
        world.a_site1.id,
        world.a.id,
        date(2026, 5, 4),
        "scheduled",
    )
    page = agent.post("/inspections/new?lang=en", data={**data, "site": world.b_site.id}).get_data(as_text=True)
    assert "This site is not the contract" in page
    assert agent.post("/inspections/new", data={**data, "site": 999_999}).status_code == 404
    page = agent.post("/inspections/new?lang=zh", data={**data, "due_on": "someday"}).get_data(as_text=True)
    assert "不是有效的日期值" in page and 'value="someday"' in page  # WTForms' own message, translated
    assert len(visits(app, kind="extra")) == 1


def test_retired_units_are_not_listed_for_inspection(app, world, make):
    retired = make.unit(world.contract_a, world.a_site1, world.model, serial="OLD-1", status="retired")
    visit = make.visit(world.contract_a, world.a_site1)
    page = app.test_client(user=world.agent).get(f"/inspections/{visit.id}/record").get_data(as_text=True)
    assert world.unit_a1.serial in page and retired.serial not in page


def test_overdue_and_due_soon_agree_in_python_and_sql(app, world, make):
    day = today(app)
    for offset in (-40, -1, 0, 1, 30, 31, 90):
        make.visit(world.contract_a, world.a_site1, due_on=day + timedelta(days=offset))
    make.visit(world.contract_a, world.a_site1, due_on=day - timedelta(days=5), recorded_by=world.agent)
    with app.app_context():
        every = db.session.scalars(sa.select(Visit)).all()
        for name in ("overdue", "due_soon"):
            in_sql = set(db.session.scalars(sa.select(Visit.id).where(getattr(Visit, name)(day))))
            in_python = {v.id for v in every if getattr(v, name)(day)}
            assert in_sql == in_python and in_sql, name
        overdue = {v.due_on - day for v in every if v.overdue(day)}
        soon = {v.due_on - day for v in every if v.due_soon(day)}
        assert overdue == {timedelta(days=-40), timedelta(days=-1)}  # the recorded one is not overdue
        assert soon == {timedelta(days=0), timedelta(days=1), timedelta(days=30)}


def test_a_schools_page_flags_its_next_visit_overdue_in_colour_and_words(app, world, make):
    """The next visit of a school is the earliest not recorded: past its due date it says so, in both languages."""
    from portal.i18n import local_today

    with app.test_request_context():
        today = local_today()
    site = make.site(world.a, name_zh="丙中学", name_en="C School")
    make.visit(world.contract_a, site, due_on=today - timedelta(days=20))
    school = app.test_client(user=world.a_admin)
    page = school.get(f"/sites/{site.id}?lang=zh").get_data(as_text=True)
    assert "state-danger" in page and "已逾期" in page and "尚未记录" in page
    page = school.get(f"/sites/{site.id}?lang=en").get_data(as_text=True)
    assert "Overdue" in page and "was due" in page
    later = make.site(world.a, name_zh="丁中学", name_en="D School")
    make.visit(world.contract_a, later, due_on=today + timedelta(days=20))
    page = school.get(f"/sites/{later.id}?lang=en").get_data(as_text=True)
    assert "Next visit" in page and "was due" not in page and "state-danger" not in page


def test_the_calendar_feed_stamps_utc_on_a_server_in_beijing_time(app, world, make):
    """Many servers in China run in Asia/Shanghai: the feed's DTSTAMP is the moment in UTC all the same (a local
    time written with a Z would be eight hours off)."""
    import os
    import time

    from portal.types import utcnow

    make.visit(world.contract_a, world.a_site1, due_on=today(app) + timedelta(days=20))
    url = feed_url(app.test_client(user=world.a_school))
    before_tz = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    try:
        body = app.test_client().get(url).get_data()
    finally:
        if before_tz is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = before_tz
        time.tzset()
    stamps = [e.decoded("DTSTAMP") for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]
    assert stamps and all(abs((stamp - utcnow()).total_seconds()) < 120 for stamp in stamps), stamps
    assert b"DTSTAMP:" in body and all(
        line.endswith(b"Z") for line in body.split(b"\r\n") if line.startswith(b"DTSTAMP")
    )


def test_the_demos_recorded_inspections_show_on_each_inspected_units_page(app):
    """What a school lists as inspected, its units' pages list too: every recorded on-site visit of the demo has a
    result for each unit of its school."""
    import sqlalchemy as sa

    from portal.auth.models import User
    from portal.demo import seed
    from portal.extensions import db
    from portal.inspections.models import DONE_STATES, Visit, VisitUnit
    from portal.inspections.services import site_units

    with app.app_context():
        seed()
        db.session.commit()
        done = db.session.scalars(
            sa.select(Visit).where(Visit.status.in_(DONE_STATES), Visit.kind == "inspection")
        ).all()
        assert done
        for visit in done:
            units = len(site_units(visit))  # the contract's units at the school, in service
            rows = db.session.scalar(
                sa.select(sa.func.count()).select_from(VisitUnit).where(VisitUnit.visit_id == visit.id)
            )
            assert rows == units > 0, (visit.id, rows, units)
        unit_id = db.session.scalar(
            sa.select(VisitUnit.equipment_id).join(Visit).where(Visit.id == done[0].id).limit(1)
        )
        manager = db.session.scalar(sa.select(User).where(User.role == "vendor_manager"))
        db.session.expunge(manager)
    page = app.test_client(user=manager).get(f"/equipment/{unit_id}?lang=en").get_data(as_text=True)
    assert "No inspections" not in page and "no inspections" not in page


@pytest.mark.parametrize("month, expected", [("2026-07", 2), ("2026-08", 0)])
def test_the_service_log_export_ends_with_its_last_entry_not_an_empty_row(app, world, make, month, expected):
    make.service_log(world.contract_a, world.a_site1, work_date=date(2026, 7, 9))
    make.service_log(world.contract_a, world.a_site1, work_date=date(2026, 7, 31), work_done="")  # ends on a blank
    for lang in ("en", "zh"):
        export = app.test_client(user=world.a_admin).get(f"/inspections/log.xlsx?month={month}&lang={lang}")
        sheet = load_workbook(io.BytesIO(export.get_data())).active
        rows = list(sheet.values)
        assert sheet.max_row == len(rows) == 1 + expected  # the headers and one row an entry, nothing after
        assert all(any(cell not in (None, "") for cell in row) for row in rows)

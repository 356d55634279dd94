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
    body = manager.post(
        "/settings/calendar/days", data={"day": "2027-13-01", "kind": "holiday", "name_zh": ""}, headers=EN
    ).get_data(as_text=True)
    assert "Not a valid date value." in body and "This field is required." in body
    assert manager.post("/settings/calendar/days/2026-10-01/delete").status_code == 302
    assert manager.post("/settings/calendar/days/2026-10-01/delete").status_code == 404
    assert manager.post("/settings/calendar/days/not-a-date/delete").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0


# ---------------------------------------------------------------- next year's schedule ahead of the library

from datetime import datetime, timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import pytest  # noqa: E402

from portal.sla.calendar import due_at  # noqa: E402
from tests.pages import form, post_form  # noqa: E402

ZH = {"Accept-Language": "zh-CN"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
SPRING_2027 = {
    "range-name_zh": "春节",
    "range-name_en": "",
    "range-first": "2027-02-05",
    "range-last": "2027-02-11",
    "range-workdays": "2027-01-31, 2027-02-20",
}


def rows(app, year=2027):
    with app.app_context():
        return [
            (d.day, d.kind, d.name_zh, d.name_en, d.source)
            for d in db.session.scalars(
                sa.select(CalendarDay)
                .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
                .order_by(CalendarDay.day)
            )
        ]


def test_a_holiday_range_with_its_swapped_working_days_is_saved_at_once(app, world):
    manager = app.test_client(user=world.manager)
    page = manager.get("/settings/calendar?year=2027", headers=EN)
    data = {**form(page, "/settings/calendar/holidays"), **SPRING_2027}
    response = manager.post("/settings/calendar/holidays", data=data, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == "/settings/calendar?year=2027"
    saved = rows(app)
    assert [d for d, kind, *_ in saved if kind == "holiday"] == [date(2027, 2, 5) + timedelta(days=n) for n in range(7)]
    assert [d for d, kind, *_ in saved if kind == "workday"] == [date(2027, 1, 31), date(2027, 2, 20)]
    assert {(name_zh, name_en, source) for _, _, name_zh, name_en, source in saved} == {
        ("春节", "Spring Festival", "manual")
    }  # the English name of a known holiday filled in
    # The same form again (a double click) counts once; a new form with the same holiday makes no duplicates.
    assert manager.post("/settings/calendar/holidays", data=data).status_code == 303
    again = {**form(manager.get("/settings/calendar?year=2027"), "/settings/calendar/holidays"), **SPRING_2027}
    assert manager.post("/settings/calendar/holidays", data=again).status_code == 302
    assert rows(app) == saved
    # A corrected range replaces the holiday's earlier days: none of the old ones is left behind.
    corrected = {
        **form(manager.get("/settings/calendar?year=2027"), "/settings/calendar/holidays"),
        **SPRING_2027,
        "range-first": "2027-02-06",
        "range-last": "2027-02-13",
        "range-workdays": "2027年2月20日",
    }
    assert manager.post("/settings/calendar/holidays", data=corrected).status_code == 302
    assert [(d, kind) for d, kind, *_ in rows(app)] == [
        *((date(2027, 2, 6) + timedelta(days=n), "holiday") for n in range(8)),
        (date(2027, 2, 20), "workday"),
    ]
    page = manager.get("/settings/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "Spring Festival" in page and "entered by" in page


@pytest.mark.parametrize(
    "change, field, english, chinese",
    [
        ({"range-name_zh": ""}, "name_zh", "This field is required.", "此项为必填项。"),
        ({"range-first": "2027-02-31"}, "first", "Not a valid date value.", None),
        (
            {"range-last": "2027-02-01"},
            "last",
            "The last day off cannot be before the first.",
            "最后一天休息日不能早于第一天。",
        ),
        ({"range-last": "2027-03-10"}, "last", "A holiday lasts at most 31 days.", "一个假期最长 31 天。"),
        ({"range-first": "1999-12-30"}, "first", "The calendar holds the years 2000 to 2100.", None),
        (
            {"range-workdays": "2027-02-20 next saturday"},
            "workdays",
            "“next” is not a date: write dates like 2027-02-06.",
            "“next”不是日期：请按 2027-02-06 的格式填写。",
        ),
        (
            {"range-workdays": "2027-02-07"},
            "workdays",
            "A swapped working day cannot fall between the first and the last day off.",
            "调休上班日不能在第一天与最后一天休息日之间。",
        ),
        (
            {"range-workdays": " ".join(f"2027-03-{n:02d}" for n in range(1, 12))},
            "workdays",
            "Give at most 10 working days.",
            "最多填写 10 个上班日。",
        ),
    ],
)
def test_the_range_form_refuses_with_a_message_on_the_field_and_keeps_what_was_typed(
    app, world, change, field, english, chinese
):
    manager = app.test_client(user=world.manager)
    data = {**SPRING_2027, "range-name_en": "Spring <b>Festival</b>", **change}
    for headers, message in ((EN, english), (ZH, chinese)):
        response = manager.post("/settings/calendar/holidays", data=data, headers=headers)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        if message:
            assert message in body
        assert f'id="range-{field}-error"' in body
        kept = form(body, "/settings/calendar/holidays")
        assert all(
            kept[name] == value for name, value in data.items() if name != "range-workdays" or field == "workdays"
        ), kept
        assert "<b>Festival</b>" not in body and "Spring &lt;b&gt;Festival&lt;/b&gt;" in body
    assert rows(app) == []


def test_a_due_date_in_early_2027_skips_1_january_once_the_schedule_is_entered_and_confirmed(app, world):
    filed = datetime(2026, 12, 31, 16, 0, tzinfo=SHANGHAI)  # a Thursday afternoon
    with app.app_context():
        assert due_at(filed, 120, "working", business_calendar()) == datetime(2027, 1, 1, 10, 0, tzinfo=SHANGHAI)
    manager = app.test_client(user=world.manager)
    data = {
        **form(manager.get("/settings/calendar?year=2027"), "/settings/calendar/import"),
        "notice-year": "2027",
        "notice-text": "一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。",
    }
    manager.post("/settings/calendar/import", data={**data, "notice-confirmed": "1"})
    with app.app_context():
        calendar = business_calendar()
        assert calendar.unconfirmed_years(date(2027, 1, 1), date(2027, 1, 4)) == {2027}  # entered, still flagged
        assert due_at(filed, 120, "working", calendar) == datetime(2027, 1, 4, 10, 0, tzinfo=SHANGHAI)
    manager.post("/settings/calendar/2027/confirm", data={"confirmed": "1"})
    with app.app_context():
        assert business_calendar().unconfirmed_years(date(2027, 1, 1), date(2027, 1, 4)) == set()


NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
二、春节：2月5日（农历除夕、周五）至11日（农历正月初五、周四）放假调休，共7天。1月31日（周日）、2月20日（周六）上班。
国务院办公厅"""


def test_the_notice_is_previewed_then_saved_on_confirmation(app, world):
    manager = app.test_client(user=world.manager)
    blank = form(manager.get("/settings/calendar", headers=EN), "/settings/calendar/import")
    assert blank["notice-year"] == str(local_today_in(app).year + 1)
    data = {**blank, "notice-year": "2030", "notice-text": NOTICE_2027}  # the title's year wins
    for headers, expected in (
        (
            EN,
            (
                "Preview: the notice for 2027",
                "Spring Festival",
                "Save these 12 days",
                "Fri, Jan 1 – Sun, Jan 3",
                "Sun, Jan 31, Sat, Feb 20",
            ),
        ),
        (ZH, ("预览：2027年的通知", "春节", "保存这 12 天", "1月1日周五 – 1月3日周日", "1月31日周日")),
    ):
        preview = manager.post("/settings/calendar/import", data=data, headers=headers)
        body = preview.get_data(as_text=True)
        assert preview.status_code == 200 and all(text in body for text in expected), body
        assert rows(app) == []  # a preview saves nothing (and the same form may be previewed again)
    action, confirm = post_form(body, "/settings/calendar/import")
    assert confirm["notice-confirmed"] == "1" and confirm["notice-text"] == NOTICE_2027.replace("\r", "")
    assert confirm["notice-form_token"] != data["notice-form_token"]
    response = manager.post(action, data=confirm, headers=EN)
    assert response.status_code == 302 and response.headers["Location"] == "/settings/calendar?year=2027"
    saved = rows(app)
    assert len(saved) == 12 and (date(2027, 1, 1), "holiday", "元旦", "New Year's Day", "manual") in saved
    assert (date(2027, 2, 20), "workday", "春节", "Spring Festival", "manual") in saved
    assert manager.post(action, data=confirm).status_code == 303  # sent twice: counts once
    fresh = {
        **form(manager.get("/settings/calendar?year=2027"), "/settings/calendar/import"),
        "notice-year": "2027",
        "notice-text": NOTICE_2027,
        "notice-confirmed": "1",
    }
    assert manager.post("/settings/calendar/import", data=fresh).status_code == 302
    assert rows(app) == saved
    page = manager.get("/settings/calendar?year=2027", headers=EN).get_data(as_text=True)
    assert "Confirm this year" in page  # confirming stays the manager's decision


def test_lines_the_notice_parser_cannot_read_are_shown_and_nothing_is_saved(app, world):
    manager = app.test_client(user=world.manager)
    text = NOTICE_2027 + "\n三、清明节：4月3日（周六）至5日（周一）放假，共4天。\n四、劳动节：五月一日放假<script>。"
    data = {
        **form(manager.get("/settings/calendar"), "/settings/calendar/import"),
        "notice-year": "2027",
        "notice-text": text,
    }
    for headers, expected in (
        (
            EN,
            ("2 lines could not be read", "Line 5", "Line 6", "The line says 4 days, but", "is 3 days", "国务院办公厅"),
        ),
        (ZH, ("2 行无法读取", "第 5 行", "第 6 行", "通知写的是 4 天")),
    ):
        body = manager.post("/settings/calendar/import", data=data, headers=headers).get_data(as_text=True)
        assert all(part in body for part in expected), body
        assert "<script>" not in body and "&lt;script&gt;" in body
        assert "notice-confirmed" not in body.split('id="notice"')[0]  # no save button in the preview
        assert form(body, "calendar/import")["notice-text"].strip() == text  # kept as typed
    # Sent with "confirmed" all the same (an old page): refused, nothing saved, the lines shown again.
    body = manager.post("/settings/calendar/import", data={**data, "notice-confirmed": "1"}, headers=EN)
    assert body.status_code == 200 and "Nothing was saved" in body.get_data(as_text=True)
    assert rows(app) == []


@pytest.mark.parametrize(
    "change, message",
    [
        ({"notice-text": ""}, "This field is required."),
        ({"notice-year": "1999"}, "The calendar holds the years 2000 to 2100."),
        ({"notice-year": "next"}, "Not a valid integer value."),
    ],
)
def test_the_notice_form_refuses_with_a_message_on_the_field(app, world, change, message):
    manager = app.test_client(user=world.manager)
    data = {"notice-year": "2027", "notice-text": "一、元旦：1月1日放假。", **change}
    body = manager.post("/settings/calendar/import", data=data, headers=EN).get_data(as_text=True)
    assert message in body and "Preview: the notice" not in body
    assert rows(app) == []


def test_the_2026_notice_imported_gives_the_official_schedule(app, world):
    from tests.sla.test_notice import NOTICE_2026

    manager = app.test_client(user=world.manager)
    data = {"notice-year": "2026", "notice-text": NOTICE_2026, "notice-confirmed": "1"}
    assert manager.post("/settings/calendar/import", data=data).status_code == 302
    from portal.sla.holidays import library_schedule

    holidays, workdays, _ = library_schedule(2026)
    with app.app_context():
        calendar = business_calendar()
    assert {d for d in calendar.holidays if d.year == 2026} == {d for d in holidays if d.year == 2026}
    assert {d for d in calendar.workdays if d.year == 2026} == {d for d in workdays if d.year == 2026}


def test_new_calendar_forms_need_the_csrf_token(app, world):
    import re

    app.config["WTF_CSRF_ENABLED"] = True
    manager = app.test_client(user=world.manager)
    page = manager.get("/settings/calendar?year=2027").get_data(as_text=True)
    assert manager.post("/settings/calendar/2027/confirm", data={"confirmed": "1"}).status_code == 400
    for action, data in (
        ("/settings/calendar/holidays", SPRING_2027),
        ("/settings/calendar/import", {"notice-year": "2027", "notice-text": NOTICE_2027, "notice-confirmed": "1"}),
    ):
        assert manager.post(action, data=data).status_code == 400
        fields = form(page, action)
        assert [re.fullmatch(r"[\w.-]+", v) is not None for k, v in fields.items() if k.endswith("csrf_token")] == [
            True
        ]
        assert manager.post(action, data={**fields, **data}).status_code == 302
    assert len(rows(app)) == 12


def local_today_in(app):
    from portal.i18n import local_today

    with app.test_request_context():
        return local_today()


# ---------------------------------------------------------------- the home page's reminder from 1 November

WARNING = {"en": "The 2027 holiday schedule is not confirmed", "zh": "2027 年的节假日安排尚未确认"}


def home(app, user, lang, monkeypatch, today):
    import portal.home.views as home_views

    monkeypatch.setattr(home_views, "local_today", lambda: today)
    return app.test_client(user=user).get(f"/?lang={lang}").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_manager_is_warned_from_1_november_while_next_year_is_unconfirmed(app, world, monkeypatch, lang):
    for today, warned in (
        (date(2026, 10, 31), False),
        (date(2026, 11, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
        (date(2027, 11, 1), False),
    ):  # 2028: not asked in 2027's October
        body = home(app, world.manager, lang, monkeypatch, today)
        assert (WARNING[lang] in body) == warned and (WARNING[lang].replace("2027", "2028") in body) == (
            today == date(2027, 11, 1)
        ), today
        if warned:
            assert 'href="/settings/calendar?year=2027"' in body
    with app.app_context():  # entered but not confirmed: still warned; confirmed: no more
        db.session.add(CalendarYear(year=2027, confirmed=False))
        db.session.commit()
    assert WARNING[lang] in home(app, world.manager, lang, monkeypatch, date(2026, 11, 20))
    with app.app_context():
        db.session.get(CalendarYear, 2027).confirmed = True
        db.session.commit()
    assert WARNING[lang] not in home(app, world.manager, lang, monkeypatch, date(2026, 11, 20))


def test_other_roles_are_not_warned(app, world, monkeypatch):
    for user in (world.agent, world.a_admin, world.a_staff, world.a_school):
        for lang in ("en", "zh"):
            body = home(app, user, lang, monkeypatch, date(2026, 12, 1))
            assert WARNING[lang] not in body and "/settings/calendar" not in body

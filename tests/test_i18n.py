"""Chinese and English: choosing the language, rendering every page in both, and a complete catalogue."""

import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from portal.auth.models import User
from portal.extensions import db
from portal.i18n import money

from .test_access import PAGES, url_of

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def html_lang(response):
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


class TestChoosingTheLanguage:
    def test_first_visit_falls_back_to_chinese(self, client):
        assert html_lang(client.get("/login")) == "zh-CN"

    @pytest.mark.parametrize(
        ("header", "lang"),
        [
            ("en-US,en;q=0.9", "en"),
            ("zh-CN,en;q=0.9", "zh-CN"),
            ("zh-TW", "zh-CN"),
            ("fr-FR,en;q=0.5", "en"),
            ("de-DE", "zh-CN"),
        ],
    )
    def test_accept_language(self, client, header, lang):
        assert html_lang(client.get("/login", headers={"Accept-Language": header})) == lang

    def test_query_argument_wins_and_is_remembered_in_a_cookie(self, client):
        response = client.get("/login?lang=en", headers={"Accept-Language": "zh-CN"})
        assert html_lang(response) == "en"
        cookie = client.get_cookie("portal_lang")
        assert cookie.value == "en" and cookie.http_only
        assert html_lang(client.get("/login", headers={"Accept-Language": "zh-CN"})) == "en"
        assert html_lang(client.get("/login?lang=zh")) == "zh-CN"
        assert html_lang(client.get("/login", headers={"Accept-Language": "en"})) == "zh-CN"

    def test_unknown_language_is_ignored(self, client):
        assert html_lang(client.get("/login?lang=fr")) == "zh-CN"
        assert client.get_cookie("portal_lang") is None

    def test_signed_in_choice_is_the_users_preference(self, app, world):
        browser = app.test_client(user=world.a_staff)
        assert html_lang(browser.get("/?lang=en")) == "en"
        with app.app_context():
            assert db.session.get(User, world.a_staff.id).locale == "en"
        # Another browser, Chinese by its header: the preference follows the user.
        elsewhere = app.test_client(user=world.a_staff)
        assert html_lang(elsewhere.get("/", headers={"Accept-Language": "zh-CN"})) == "en"

    def test_preference_from_the_account_page(self, app, world):
        browser = app.test_client(user=world.a_staff)
        data = {"name": "孙磊", "phone": "", "locale": "en"}
        response = browser.post("/account/", data=data, follow_redirects=True)
        assert html_lang(response) == "en" and "Your details are saved." in response.get_data(as_text=True)

    def test_language_switch_keeps_the_other_query_arguments(self, app, world):
        body = app.test_client(user=world.sysadmin).get("/users/?q=a&role=client_admin").get_data(as_text=True)
        assert 'href="/users/?q=a&amp;role=client_admin&amp;lang=en"' in body


ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{1,}")
# "Webhook": WeCom's and DingTalk's own Chinese pages call the robot's address that ("Webhook 地址").
ALLOWED = {"email", "e-mail", "csv", "xlsx", "id", "ok", "cny", "it", "en", "english", "sla", "qr", "webhook"}


class VisibleText(HTMLParser):
    SKIP = {"script", "style", "code", "pre"}

    def __init__(self):
        super().__init__()
        self.depth, self.chunks = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.SKIP
        placeholder = dict(attrs).get("placeholder")
        if placeholder:
            self.chunks.append(placeholder)

    def handle_endtag(self, tag):
        self.depth -= tag in self.SKIP and self.depth > 0

    def handle_data(self, data):
        if not self.depth:
            self.chunks.append(data)


def english_left(body):
    parser = VisibleText()
    parser.feed(body)
    text = re.sub(r"\S+@\S+|https?://\S+|\d[\w.:/-]*", " ", " ".join(parser.chunks))
    return sorted({w for w in ENGLISH_WORD.findall(text) if w.lower() not in ALLOWED and not w.isupper()})


GET_PAGES = sorted(name for name, route in PAGES.items() if route.method == "GET")


@pytest.mark.parametrize("name", GET_PAGES)
def test_every_page_renders_in_both_languages(app, world, name):
    route = PAGES[name]
    role = min(route.roles, key=list(world.by_role()).index) if route.roles else None
    user = world.by_role()[role] if role else None
    browser = app.test_client(user=user) if user else app.test_client()
    url = url_of(world, route, role)
    for lang, tag in (("en", "en"), ("zh", "zh-CN")):
        response = browser.get(url + ("&" if "?" in url else "?") + f"lang={lang}", follow_redirects=True)
        if "text/html" not in response.content_type:
            continue  # /healthz answers JSON, exports are files
        body = response.get_data(as_text=True)
        assert html_lang(response) == tag
        assert re.search(r"<title>\s*\S", body), "every page has a title"
        if lang == "zh":
            assert english_left(body) == [], f"untranslated on {url}"


def test_error_pages_in_both_languages(app, world):
    browser = app.test_client(user=world.a_staff)
    assert "Not found" in browser.get("/sites/999999?lang=en").get_data(as_text=True)
    body = browser.get("/sites/999999?lang=zh").get_data(as_text=True)
    assert "未找到" in body and english_left(body) == []
    body = browser.get("/settings/?lang=zh").get_data(as_text=True)
    assert "无权访问" in body


def test_dates_times_and_money_follow_the_locale_and_the_time_zone(app):
    moment = datetime(2026, 1, 31, 17, 30, tzinfo=UTC)  # 01:30 on 1 February in Shanghai
    with app.test_request_context():
        from flask_babel import format_datetime

        with force_locale("zh_Hans_CN"):
            assert format_datetime(moment, "medium") == "2026年2月1日 01:30:00"
            assert money(Decimal("12345.5")) == "¥12,345.50"
        with force_locale("en"):
            assert format_datetime(moment, "medium") == "Feb 1, 2026, 1:30:00\u202fAM"
            assert money(Decimal("12345.5")) == "CN¥12,345.50"


def test_the_chinese_catalogue_is_complete():
    catalogue = read_po(CATALOGUE.open("rb"), locale="zh_Hans_CN")
    untranslated = [
        m.id for m in catalogue if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "pyproject.toml",
            "-k",
            "_l",
            "-k",
            "_lp:1c,2",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    def entries(catalogue):  # a word with a context ("quote" / "Expired") is an entry of its own
        return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(catalogue.open("rb")) if m.id}

    extracted, translated = entries(pot), entries(CATALOGUE)
    assert extracted - translated == set(), "run `make messages` and translate the new entries"


def test_one_english_word_two_chinese_meanings_are_told_apart(app, world, make):
    """ "Expired" is a quote 已过期 and a warranty 已过保; a quote's "Term" is the renewal's 续保期限; the service log's
    "Place" is where the work was done, 地点 (a unit's place is its 安装位置)."""
    from portal.equipment.warranty import WarrantyState
    from portal.renewals.models import QuoteStatus

    with app.test_request_context("/?lang=zh"):
        from flask import g

        g.lang_choice = "zh_Hans_CN"
        assert str(QuoteStatus.EXPIRED.label) == "已过期" and str(WarrantyState.EXPIRED.label) == "已过保"
    quote = make.quote(world.a, [world.unit_a1])
    admin = app.test_client(user=world.a_admin)
    page = admin.get(f"/renewals/{quote.id}/print?lang=zh").get_data(as_text=True)
    assert "续保期限" in page and "质保期限" not in page
    entry = app.test_client(user=world.agent).get("/inspections/log/new?lang=zh").get_data(as_text=True)
    assert "地点" in entry and "安装位置" not in entry


def test_dates_are_written_by_each_locales_own_pattern_not_hand_joined(app, world, make):
    """The holiday calendar and the service log's months: 1月1日周四 / 2026年11月 in Chinese (not "周四, 1月 1" or
    "2026 十一月"), Thu, Jan 1 / November 2026 in English."""
    from datetime import date

    from portal.sla.models import CalendarDay

    make.save(CalendarDay(day=date(2026, 1, 1), kind="holiday", name_zh="元旦", name_en="New Year"))
    manager = app.test_client(user=world.manager)
    assert "1月1日周四" in manager.get("/settings/calendar?year=2026&lang=zh").get_data(as_text=True)
    assert "Thu, Jan 1" in manager.get("/settings/calendar?year=2026&lang=en").get_data(as_text=True)
    log = manager.get("/inspections/log?month=2026-11&lang=zh").get_data(as_text=True)
    assert "2026年11月" in log and "2026年10月" in log and "十一月" not in log
    assert "November 2026" in manager.get("/inspections/log?month=2026-11&lang=en").get_data(as_text=True)


class TestCataloguesKeptPerRequestAndLocale:
    """portal.i18n.translations() keeps the catalogue it found for the request: never another locale's."""

    def test_zh_then_en_then_zh_in_one_process(self, app, world):
        browser = app.test_client(user=world.agent)
        for lang, heading, state in (
            ("zh", "设备", "在保"),
            ("en", "Equipment", "In warranty"),
            ("zh", "设备", "在保"),
        ):
            body = browser.get(f"/equipment/?lang={lang}").get_data(as_text=True)
            assert re.search(rf"<h1[^>]*>\s*{heading}\s*</h1>", body) and f"</i> {state}</span>" in body, lang
            if lang == "zh":
                assert english_left(body) == []

    def test_force_locale_and_refresh_inside_one_request(self, app):
        from flask import render_template_string
        from flask_babel import refresh

        from portal.i18n import _l, gettext, ngettext, pgettext

        lazy = _l("Equipment")
        with app.test_request_context("/?lang=zh"):
            from flask import g

            g.lang_choice = "zh_Hans_CN"
            assert gettext("Equipment") == "设备" and str(lazy) == "设备"
            assert render_template_string("{{ _('Equipment') }}") == "设备"
            with force_locale("en"):
                assert gettext("Equipment") == "Equipment" and str(lazy) == "Equipment"
                assert render_template_string("{{ _('Equipment') }}") == "Equipment"
                assert pgettext("quote", "Expired") == "Expired"
            assert gettext("Equipment") == "设备" and render_template_string("{{ _('Equipment') }}") == "设备"
            assert pgettext("quote", "Expired") == "已过期"
            g.lang_choice = "en"
            refresh()
            assert gettext("Equipment") == "Equipment" and str(lazy) == "Equipment"
            assert ngettext("%(num)d unit is imported.", "%(num)d units are imported.", 2) == "2 units are imported."

    def test_names_follow_the_locale_of_the_moment(self, app, world):
        from flask import g

        from portal.orgs.models import Site

        with app.test_request_context("/"):
            g.lang_choice = "zh_Hans_CN"
            site = db.session.get(Site, world.a_site1.id)
            assert site.name == "甲一中"
            with force_locale("en"):
                assert site.name == "A School 1"
            assert site.name == "甲一中"

    @pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Urumqi", "UTC"])
    def test_date_filters_write_what_flask_babel_writes(self, app, zone):
        """portal.i18n's datetimeformat, dateformat and timedeltaformat filters keep CLDR's patterns per locale:
        the same text as Flask-Babel's, in each locale and time zone, one after the other in one process."""
        from datetime import date, timedelta

        import flask_babel
        import pytz
        from flask import g

        from portal import i18n

        moments = [
            datetime(2026, 1, 31, 17, 30, tzinfo=UTC),
            datetime(2026, 7, 1, 23, 59, 59),
            datetime(2025, 12, 31, 16, 0, 1, tzinfo=UTC),
        ]
        with app.test_request_context("/"):
            for locale in ("zh_Hans_CN", "en", "zh_Hans_CN"):
                with force_locale(locale):
                    g._flask_babel.babel_tzinfo = pytz.timezone(zone)
                    for moment in moments:
                        for format in ("short", "medium", "long", "full", None, "yyyy-MM-dd HH:mm", "MMM"):
                            assert i18n.format_datetime(moment, format) == flask_babel.format_datetime(moment, format)
                        for format in ("short", "medium", "long", "full", None, "yyyy-MM", "MMM"):
                            assert i18n.format_date(moment, format) == flask_babel.format_date(moment, format)
                            assert i18n.format_date(moment.date(), format) == flask_babel.format_date(
                                moment.date(), format
                            )
                    for delta in (timedelta(hours=-5), timedelta(days=3, minutes=1), timedelta(0)):
                        assert i18n.format_timedelta(delta, add_direction=True) == flask_babel.format_timedelta(
                            delta, add_direction=True
                        )
                    assert i18n.format_date(date(2026, 2, 1), "long") in ("2026年2月1日", "February 1, 2026")

    def test_a_school_in_urumqi_sees_its_own_clock(self, app, world, make):
        """The same ticket's filing time for the vendor (Shanghai) and for a school in Urumqi (two hours behind),
        in both languages one after the other."""
        from portal.orgs.models import Site

        with app.app_context():
            site = db.session.get(Site, world.a_site1.id)
            site.timezone = "Asia/Urumqi"
            db.session.commit()
        from zoneinfo import ZoneInfo

        from babel.dates import format_datetime

        filed = world.ticket_a.filed_at
        vendor, school = app.test_client(user=world.agent), app.test_client(user=world.a_school)
        for lang, locale in (("zh", "zh_Hans_CN"), ("en", "en"), ("zh", "zh_Hans_CN")):
            shanghai = format_datetime(filed, "short", tzinfo=ZoneInfo("Asia/Shanghai"), locale=locale)
            urumqi = format_datetime(filed, "short", tzinfo=ZoneInfo("Asia/Urumqi"), locale=locale)
            assert shanghai in vendor.get(f"/tickets/?view=all&lang={lang}").get_data(as_text=True)
            page = school.get(f"/tickets/?lang={lang}").get_data(as_text=True)
            assert urumqi in page and shanghai not in page

    def test_outside_a_request_the_source_text(self):
        from portal.i18n import gettext

        assert gettext("Equipment") == "Equipment"

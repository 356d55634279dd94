"""No user value reaches a page unescaped.

Markup is planted in every text column the portal stores (whatever form or factory wrote it), then every page is
rendered for every role that may see it, as a full page and as an htmx fragment; and in the messages built while a
request runs (refusals, upload checks, flashes, import errors), with the planted value typed into the real forms.
Each page is parsed: no planted element exists, and the planted text is visible as text.
"""

import ast
import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from markupsafe import Markup, escape

from portal.documents.samples import pdf
from portal.extensions import db
from portal.uploads import normalise_name

from .test_access import PAGES, url_of

ROOT = Path(__file__).resolve().parent.parent
# Three ways in: an element htmx acts on by itself, a script, and a way out of an attribute value.
MARKS = ('<b hx-post="/x" hx-trigger="load">{}</b>', "<script>alert({})</script>", '"><img src=x onerror=alert({})>')
# Columns that hold what the portal itself chooses (states, codes, hashes, generated numbers), not what anyone
# typed; every other text column of every table gets markup. A new text column is planted unless it is listed here.
CODES = {
    "equipment_model": {"category"},
    "equipment": {"status"},
    "user_account": {"role", "locale", "password_hash", "session_token"},
    "site": {"timezone"},
    "calendar_day": {"kind", "source"},
    "calendar_feed": {"token_hash"},
    "calendar_year": {"source"},
    "document": {"kind", "language"},
    "document_version": {"file_type", "content_type", "sha256", "storage_key"},
    "import_batch": {"payload"},  # JSON of the uploaded rows: planted inside (below)
    "inspection_plan": {"frequency", "months"},
    "invitation": {"token_hash"},
    "sign_in_session": {"token_hash", "end_reason"},  # address and user agent come from the request: planted
    "sign_in_throttle": {"kind", "key"},  # never shown
    "renewal_quote": {"number", "status"},
    "quote_event": {"action"},
    "sla_policy": {"clock"},
    "sla_target": {"severity"},
    "ticket": {
        "number",
        "severity",
        "kind",
        "channel",
        "coverage",
        "status",
        "resume_to",
        "timezone",
        "clock",
        "resolution_met_by",
        "waived",
        "breached",
        "problem_kind",
    },
    "ticket_event": {"action"},
    "ticket_photo": {"content_type"},
    "warranty_extension": {"cause_kind"},
    "complaint": {"number", "category", "channel", "status"},
    "complaint_event": {"action"},
    "complaint_attachment": {"content_type"},
    "visit": {"kind", "status", "method"},
    "visit_unit": {"result"},
    "visit_attachment": {"content_type"},
    "form_submission": {"target"},  # the portal's own address of a form's result
    "issued_document": {"kind", "number", "state", "language", "sha256", "storage_key"},
    "notification": {"kind", "subject_type", "key"},  # its values (params, JSON) are planted below
    "notification_delivery": {"channel", "kind", "subject_type", "key", "state"},
    "notification_preference": {"kind", "mode"},
    "robot": {"platform", "kinds", "locale"},
    "survey": {"token_hash", "language"},
    "survey_throttle": {"address"},  # the request's source address, never shown
    "password_history": {"password_hash"},  # hashes and an encrypted secret, never shown
    "two_factor": {"secret"},
    "recovery_code": {"code_hash"},
}


def mark(n, length=None):
    """The n-th planted value, the three kinds in turn, each unique (serial numbers, e-mails), within ``length``."""
    for i in range(3):
        value = MARKS[(n + i) % 3].format(n)
        if length is None or len(value) <= length:
            return value
    raise AssertionError(f"no mark fits in {length} characters")


class Planted(HTMLParser):
    """The elements a planted value would make if it were not escaped, and the page's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.chunks = [], []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if (
            (tag == "b" and any(n.startswith("hx-") for n in names))
            or (tag == "script" and "src" not in names)
            or tag == "img"
            and "onerror" in names
            or any(n.startswith("on") for n in names)
        ):
            self.elements.append(self.get_starttag_text())

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self):
        return "".join(self.chunks)


def parse(body):
    page = Planted()
    page.feed(body)
    page.close()
    return page


def shown(text):
    """Whether planted markup shows on the page as text (the reader sees it; the browser builds nothing from it)."""
    return any(m.split("{}")[0] in text for m in MARKS)


def check(response, where):
    assert response.status_code < 500, where
    if "text/html" not in response.content_type:
        return None
    page = parse(response.get_data(as_text=True))
    assert page.elements == [], where
    return page


# ---------------------------------------------------------------- every lazy message, from the code itself


def lazy_calls():
    """Every ``_l("…", name=value)`` in the portal's code: (file, message, keyword names)."""
    for path in sorted((ROOT / "portal").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_l"
                and node.keywords
                and isinstance(node.args[0], ast.Constant)
            ):
                yield path.relative_to(ROOT), node.args[0].value, [k.arg for k in node.keywords]


def test_every_lazy_message_escapes_the_values_put_into_it(app):
    from portal.i18n import _l

    calls = list(lazy_calls())
    assert len(calls) > 20  # the refusals with a serial number, a file name, a version label…
    with app.test_request_context():
        for where, message, names in calls:
            values = {name: 7 if re.search(rf"%\({name}\)d", message) else mark(i) for i, name in enumerate(names)}
            lazy = _l(message, **values)
            for locale in ("zh_Hans_CN", "en"):
                with force_locale(locale):
                    html = str(escape(lazy))
                    assert "<" not in html and ">" not in html, (where, message)
                    assert str(escape(Markup("<p>%s</p>") % lazy)).count("<") == 2  # inside markup too
                    assert all(str(escape(v)) in html for v in values.values() if isinstance(v, str)), (where, message)
            with force_locale("en"):
                assert str(lazy) == message % values  # as text (logs, spreadsheets), the values as they are


def test_no_module_uses_flask_babels_lazy_strings_or_marks_text_safe():
    """Flask-Babel's lazy strings are markup to Jinja; ``portal.i18n._l`` is the one lazy translation."""
    found = []
    for path in (ROOT / "portal").rglob("*.py"):
        source = path.read_text()
        for pattern in (
            r"from flask_babel import .*lazy_\w+",
            r"flask_babel\.lazy_\w+",
            r"LazyString\(",
            r"render_template_string",
            r"Markup\(",
        ):
            for match in re.finditer(pattern, source):
                found.append((str(path.relative_to(ROOT)), match.group(0)))
    # The one Markup: the QR code, segno's own SVG of the unit's address (no user value in it); the one template
    # from a string: the scale benchmark's floor page, a constant (autoescaped like every template).
    assert sorted(found) == [("portal/bench.py", "render_template_string")] * 2 + [
        ("portal/equipment/views.py", "Markup(")
    ]
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text()
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", source), path


# ---------------------------------------------------------------- markup in everything stored, on every page


def act(client, url, **data):
    """A step on a ticket: read the version the page shows, send the form."""
    page = client.get(url.rsplit("/", 1)[0]).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    if version:
        data.setdefault("version", version.group(1))
    response = client.post(url, data=data)
    assert response.status_code == 302, (url, response.status_code)


def every_state(app, world, make):
    """The world, with each kind of record in the states that show its texts: tickets responded, noted, replied,
    lent, resolved with parts, confirmed or reopened; complaints answered, rejected, closed; quotes issued,
    declined, accepted; visits signed and disputed; a signed service log; a replacement note; versions."""
    agent, manager = app.test_client(user=world.agent), app.test_client(user=world.manager)
    school, school2 = app.test_client(user=world.a_school), app.test_client(user=world.a_school2)
    admin, staff_b = app.test_client(user=world.a_admin), app.test_client(user=world.b_staff)
    t = f"/tickets/{world.ticket_a.id}"
    act(agent, f"{t}/respond", body="x")
    act(agent, f"{t}/note", body="x")
    act(school, f"{t}/reply", body="x")
    act(agent, f"{t}/loan", spare="x", body="x")
    act(agent, f"{t}/return", body="x")
    act(agent, f"{t}/severity", severity="A", body="x")
    act(agent, f"{t}/coverage", excluded="y", body="x")
    act(
        manager,
        f"{t}/resolve",
        problem_kind="hardware",
        cause="x",
        solution="x",
        loss="x",
        part=world.part.id,
        part_text="x",
        quantity=1,
        work_stopped="y",
    )
    act(school, f"{t}/confirm", rating=4, comment="x")
    t2 = f"/tickets/{world.ticket_a2.id}"
    act(agent, f"{t2}/respond", body="x")
    act(agent, f"{t2}/resolve", problem_kind="hardware", cause="x", solution="x")
    act(school2, f"{t2}/reopen", body="x")
    tb = f"/tickets/{world.ticket_b.id}"
    act(agent, f"{tb}/respond", body="x")
    act(agent, f"{tb}/wait", body="x")
    assert agent.post(f"/equipment/{world.unit_a1.id}/replacement", data={"note": "x"}).status_code == 302
    for complaint, client in ((world.complaint_a, school), (world.complaint_a2, school2), (world.complaint_b, staff_b)):
        c = f"/complaints/{complaint.id}"
        assert manager.post(f"{c}/assign", data={"handler": world.agent.id}).status_code == 302
        assert agent.post(f"{c}/answer", data={"body": "x"}).status_code == 302
        if complaint is world.complaint_a:
            assert client.post(f"{c}/close", data={"rating": 4, "body": "x"}).status_code == 302
        elif complaint is world.complaint_a2:
            assert client.post(f"{c}/reject", data={"body": "x"}).status_code == 302
    requested = admin.post(f"/renewals/request?unit={world.unit_a1.id}", data={"years": "1", "note": "x"})
    assert requested.status_code == 302
    for quote_url, answer in ((f"/renewals/{world.quote_a.id}", "decline"), (requested.headers["Location"], "accept")):
        assert manager.post(f"{quote_url}/issue", data={"valid_until": "2099-01-01", "terms": "x"}).status_code == 302
        assert admin.post(f"{quote_url}/{answer}", data={"reason": "x"}).status_code == 302
    assert (
        school.post(
            f"/inspections/{world.visit_a.id}/sign", data={"name": "x", "satisfaction": "4", "comment": "x"}
        ).status_code
        == 302
    )
    assert school2.post(f"/inspections/{world.visit_a2.id}/dispute", data={"reason": "x"}).status_code == 302
    assert admin.post(f"/inspections/log/{world.log_a.id}/sign", data={"name": "x"}).status_code == 302
    make.version(world.doc_a, world.manager, note="x")
    make.visit(world.contract_a, world.a_site1, due_on=date.today() + timedelta(days=10))  # in the calendar feed
    make.team_member(world.vendor)
    assert school.post("/notifications/preferences", data={"ticket_reply": "digest"}).status_code == 303
    from portal.notify.models import Robot

    make.save(Robot(name="x", platform="dingtalk", webhook_url="x", secret="x", kinds="ticket.filed"))
    from portal.surveys.models import Survey  # an answered survey: the scorecard's satisfaction evidence shows it
    from portal.types import utcnow

    with app.app_context():  # in place of the one its close made (portal.surveys), if it is closed above
        db.session.execute(sa.delete(Survey).where(Survey.ticket_id == world.ticket_a.id))
        db.session.commit()
    make.save(
        Survey(
            token_hash="0" * 64,
            client_id=world.a.id,
            site_id=world.a_site1.id,
            ticket_id=world.ticket_a.id,
            contract_id=world.contract_a.id,
            recipient_name="x",
            expires_at=utcnow() + timedelta(days=7),
            answered_at=utcnow(),
            rating=5,
            comment="x",
        )
    )


def plant_everywhere(app):
    """Markup in every stored text that is not a code (``CODES``), each value unique; and in the rows of the
    uploaded import files."""
    import json

    n, empty = 0, set()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if isinstance(c.type, sa.String)
                and not c.foreign_keys
                and c.name not in CODES.get(table.name, ())
                and not c.primary_key
            ]
            if not columns:
                continue
            if table.name == "audit_event":  # append-only: planted as a new record instead (below)
                continue
            keys = list(table.primary_key.columns)
            rows = db.session.execute(sa.select(*keys)).all()
            if not rows:
                empty.add(table.name)
            for row in rows:
                values = {}
                for column in columns:
                    n += 1
                    values[column.name] = mark(n, column.type.length)
                db.session.execute(
                    sa.update(table).where(*(k == v for k, v in zip(keys, row, strict=False))).values(**values)
                )
        from portal.audit.chain import append
        from portal.audit.hooks import entry, row_of

        row = row_of(entry("auth.sign_in", details={mark(n + 1): mark(n + 2)}))  # every text of a record, planted
        texts = (
            "user_email",
            "user_name",
            "role",
            "address",
            "event",
            "target_type",
            "target_id",
            "target_label",
            "request_id",
        )
        audit_table = db.metadata.tables["audit_event"]
        for i, name in enumerate(texts):
            row[name] = mark(n + 3 + i, audit_table.c[name].type.length)
        append(db.session.connection(), [row])
        from portal.equipment.models import ImportBatch

        for batch in db.session.scalars(sa.select(ImportBatch)):
            batch.payload = json.dumps({"header": [mark(1), "serial"], "rows": [[mark(2), mark(3)]]})
        from portal.notify.models import Notification

        for note in db.session.scalars(sa.select(Notification)):  # the values a message is written with
            n += 1
            note.params = {
                name: value if name.endswith(("_at", "_on")) or name == "clock" else mark(n + i)
                for i, (name, value) in enumerate(note.params.items())
            }  # moments and clocks: codes
        db.session.commit()
    assert empty == set()  # every table with texts has rows to show


@pytest.fixture
def planted_world(app, world, make):
    every_state(app, world, make)
    plant_everywhere(app)
    return world


GET_PAGES = sorted(name for name, route in PAGES.items() if route.method == "GET")
# Pages that must show planted values (so that the test cannot pass by planting nothing).
MUST_SHOW = {
    "home.index",
    "tickets.index",
    "tickets.show",
    "tickets.report",
    "complaints.show",
    "complaints.ledger",
    "equipment.index",
    "equipment.show",
    "equipment.labels",
    "renewals.show",
    "renewals.print_quote",
    "inspections.show",
    "inspections.report",
    "inspections.log",
    "documents.show",
    "documents.index",
    "sites.show",
    "contracts.show",
    "users.index",
    "users.show",
    "clients.show",
    "settings.index",
    "settings.calendar",
    "parts.index",
    "catalog.index",
    "equipment.import_preview",
    "warranty.index",
    "account.profile",
    "settings.team_edit",
    "notify.robots",
    "notify.deliveries",
    "notify.index",
}


def test_planted_markup_shows_as_text_on_every_page_for_every_role(app, planted_world):
    """Each page in both languages, with markup in its query string too, and as the htmx fragment it answers."""
    world = planted_world
    showing = set()
    for name in GET_PAGES:
        route = PAGES[name]
        for role in sorted(route.roles) or [None]:
            user = world.by_role()[role] if role else None
            browser = app.test_client(user=user) if user else app.test_client()
            url = url_of(world, route, role)
            join = "&" if "?" in url else "?"
            for variant, headers in (
                (f"{url}{join}lang=en", {}),
                (f"{url}{join}lang=zh", {}),
                (f"{url}{join}q={quote(mark(4))}&x={quote(mark(5))}", {}),
                (url, {"HX-Request": "true"}),
            ):
                page = check(browser.get(variant, headers=headers), (variant, role, headers))
                if page is not None and shown(page.text):
                    showing.add(name)
    assert MUST_SHOW - showing == set()


def test_the_calendar_feed_keeps_planted_values_to_their_own_lines(app, planted_world):
    """The iCalendar feed is text, not HTML: a value can only break out by a line break; none does."""
    world = planted_world
    page = app.test_client(user=world.a_admin).post("/inspections/calendar", data={"action": "new"})
    token = re.search(r"/inspections/calendar/([^\s\"<]+)\.ics", page.get_data(as_text=True)).group(1)
    broken = "x\rDTSTART:19700101\nATTENDEE:mailto:y@z\r\nX-A:1;,\\"
    with app.app_context():
        from portal.orgs.models import Client, Site

        for model in (Site, Client):
            unique = sa.literal(broken) + sa.cast(model.id, sa.String)
            db.session.execute(sa.update(model).values(name_zh=unique, name_en=unique))
        db.session.execute(sa.update(Site).values(address=broken))
        db.session.commit()
    feed = app.test_client().get(f"/inspections/calendar/{token}.ics").get_data(as_text=True)
    names = [line.split(":")[0].split(";")[0] for line in feed.split("\r\n") if line and not line.startswith(" ")]
    assert "VEVENT" in feed and "ATTENDEE" not in names and names.count("DTSTART") == feed.count("BEGIN:VEVENT")
    assert "\r" not in feed.replace("\r\n", "") and "\n" not in feed.replace("\r\n", "")
    assert {"SUMMARY", "DESCRIPTION", "LOCATION"} <= set(names) and "X-A" not in names


# ---------------------------------------------------------------- messages made while the request runs


def test_a_refusal_that_names_the_units_serial_number(app, world, make):
    """The finding of the issue: a quote asked for a unit without a price names its serial number (its page, the
    line still to be priced, and the refusal to issue the quote before it is priced)."""
    unit = make.unit(
        world.contract_a, world.a_site1, world.model, serial='<b hx-post="/renewals/2/accept" hx-trigger="load">x</b>'
    )
    admin, manager = app.test_client(user=world.a_admin), app.test_client(user=world.manager)
    asked = admin.post(f"/renewals/request?unit={unit.id}", data={"years": "1"})
    quote = asked.headers["Location"]
    for lang in ("en", "zh"):
        page = check(admin.get(f"/renewals/request?unit={unit.id}&lang={lang}"), lang)
        assert '<b hx-post="/renewals/2/accept" hx-trigger="load">x</b>' in page.text
        page = check(manager.post(f"{quote}/issue?lang={lang}", data={"valid_until": "2099-01-01"}), lang)
        assert '<b hx-post="/renewals/2/accept" hx-trigger="load">x</b>' in page.text


def test_upload_refusals_that_name_the_file(app, world):
    bad = mark(1) + ".png"
    school = app.test_client(user=world.a_school)
    page = check(
        school.post(
            "/tickets/new?lang=en",
            content_type="multipart/form-data",
            data={
                "unit": world.unit_a1.id,
                "severity": "B",
                "kind": "hardware",
                "title": "t",
                "description": "d",
                "contact_name": "c",
                "contact_phone": "13800000000",
                "channel": "portal",
                "photos": (io.BytesIO(b"not a photo"), bad),
            },
        ),
        "photo",
    )
    assert normalise_name(bad) in page.text  # the name as the portal keeps it: no folders, no <, >, "
    page = check(
        school.post(
            "/complaints/new?lang=en",
            content_type="multipart/form-data",
            data={"category": "other", "description": "d", "attachments": (io.BytesIO(b"not a photo"), bad)},
        ),
        "attachment",
    )
    assert normalise_name(bad) in page.text
    agent = app.test_client(user=world.agent)
    # (A double quote does not survive the test client's multipart encoding of a file name: these have none.)
    for name in ("<img src=x onerror=alert(2)>.pdf", "<script>alert(1)</script>.pdf"):  # not a PDF; a folder
        page = check(
            agent.post(
                "/documents/new?lang=en",
                content_type="multipart/form-data",
                data={
                    "kind": "installation",
                    "title_zh": "t",
                    "title_en": "t",
                    "language": "zh",
                    "target": "general",
                    "label": "V1",
                    "file": (io.BytesIO(b"not a pdf"), name),
                },
            ),
            name,
        )
        assert normalise_name(name).removesuffix(".pdf") in page.text


def test_a_version_label_and_a_typed_text_in_refusals(app, world, make):
    label = mark(3, 40)
    make.version(world.doc_a, world.manager, label=label)
    agent = app.test_client(user=world.agent)
    page = check(
        agent.post(
            f"/documents/{world.doc_a.id}/versions?lang=en",
            content_type="multipart/form-data",
            data={"label": label, "file": (io.BytesIO(pdf("another")), "y.pdf")},
        ),
        "version",
    )
    assert f"Version {label} already exists" in page.text
    # A ticket step that is refused keeps what was typed, to copy: the text comes back as text.
    page = check(
        agent.post(f"/tickets/{world.ticket_a.id}/propose?lang=en", data={"body": mark(4), "version": "1"}),
        "refused step",
    )
    assert mark(4) in page.text


def test_flashed_messages_after_a_step(app, world, make):
    """A flashed message goes through the session cookie (Flask keeps markup as markup there) and comes back."""
    from .factories import PASSWORD

    user = make.user("client_staff", client=world.a, name=mark(5), password=PASSWORD)
    browser = app.test_client()
    response = browser.post("/login?lang=en", data={"email": user.email, "password": PASSWORD}, follow_redirects=True)
    assert mark(5) in check(response, "welcome").text
    # A lazy refusal flashed on one request and shown on the next (the quote is not issued: it cannot be accepted).
    unit = make.unit(world.contract_a, world.a_site1, world.model, serial=mark(6), unit_price=None)
    admin = app.test_client(user=world.a_admin)
    admin.post(f"/renewals/{world.quote_a.id}/accept?lang=en")
    with admin.session_transaction() as session:
        from portal.i18n import _l

        session.setdefault("_flashes", []).append(
            ("danger", _l("Unit %(serial)s has no price: a renewal cannot be priced.", serial=unit.serial))
        )
    page = check(admin.get("/?lang=en"), "flash")
    assert mark(6) in page.text


def test_import_errors_and_preview_name_the_columns_and_cells_as_typed(app, world):
    import csv

    def upload(rows):
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return client.post(
            "/equipment/import?lang=en",
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(out.getvalue().encode()), "<script>alert(9)</script>.csv")},
        )

    client = app.test_client(user=world.a_staff)
    header = ["Contract number", "Site", "Manufacturer", "Model number", "Serial number"]
    page = check(upload([[*header, mark(7)], ["HT-A-1", "甲一中", "希沃", "F86EA", mark(8), "x"]]), "import")
    assert mark(7) in page.text  # an unknown column, named as typed
    response = upload([header, ["HT-A-1", "甲一中", "希沃", "F86EA", mark(8)]])
    assert response.status_code == 302
    page = check(client.get(response.headers["Location"] + "?lang=en"), "preview")
    assert mark(8) in page.text

"""Bad input everywhere, as an attacker would send it: every route of ``app.url_map`` with ids out of range in the
path, every query parameter the portal reads with numbers, dates and text it cannot use, and every field of every
POST form (read from the rendered pages, and from the WTForms classes of the steps a page does not offer in its
current state) with one bad value at a time, the other fields as the page filled them. Each role in turn.

What must hold: no answer is a 500; an id out of range is a 404; a control character in a query string is a 400
page that says why, in the user's language; a control character in a form field is refused with the message on
the page. And, watched on the database connection itself (so that SQLite, which stores anything, fails the same
way as PostgreSQL): no statement ever carries a control character, an integer out of PostgreSQL's ``integer``
range, an amount out of ``MONEY`` or a date out of the portal's range.

Deterministic: no randomness, the values take turns over the fields, parameters and roles; one world for the
module. The values each helper refuses are tested one by one in tests/test_bounds.py.
"""

import itertools
import re
import secrets
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal import bounds
from portal.extensions import db

from .conftest import DATABASE_URL, make_app, reset_database
from .factories import Factory, World
from .test_access import ROUTES, url_of

ROLES = (
    "vendor_manager",
    "vendor_agent",
    "client_admin",
    "client_staff",
    "site_admin",
    "system_admin",
    "security_admin",
    "auditor",
)
LANGUAGES = {
    "vendor_manager": "en",
    "vendor_agent": "zh-CN,zh;q=0.9",
    "client_admin": "zh-CN",
    "client_staff": "en-GB,en;q=0.8",
    "site_admin": "zh-CN",
    "system_admin": "en",
    "security_admin": "zh-CN",
    "auditor": "zh-CN",
    None: "en",
}
LONG = "长" * 10_000
NUL, ESC, CSI = "\x00", "\x1b", "\x9b"  # C0, C0, C1
OUT_OF_RANGE_IDS = [
    "2147483648",
    "9223372036854775808",
    "100000000000000000000",
    "0",
    "00",
    "-1",
    "1e30",
    "NaN",
    "abc",
    "%C2%B9",
    "%D9%A1",
    "1.5",
    "%201",
    "9" * 5000,
]
NUMBERS = [
    "2147483648",
    "9223372036854775808",
    "100000000000000000000",
    "1e30",
    "-1",
    "0",
    "NaN",
    "sNaN",
    "-Infinity",
    "abc",
    "",
    "0.001",
    "1,000",
    NUL,
]
DATES = ["2026-02-30", "99999-01-01", "0001-01-01", "9999-12-31", "1899-12-31", "abc", "", NUL]
TIMES = ["25:61", "abc", "", NUL]
CHOICES = ["2147483648", "9223372036854775808", "-1", "0", "abc", "", NUL, LONG]
TEXTS = [NUL, ESC, CSI, "\x7f", LONG, ""]
VALUES = {
    "text": TEXTS,
    "textarea": TEXTS,
    "email": TEXTS,
    "tel": TEXTS,
    "search": TEXTS,
    "password": TEXTS,
    "hidden": CHOICES,
    "number": NUMBERS,
    "date": DATES,
    "time": TIMES,
    "select": CHOICES,
    "radio": CHOICES,
    "checkbox": CHOICES,
}
SHOWN = set(VALUES) - {"hidden"}  # fields a user sees: a refusal must say why next to them
QUERY_VALUES = {  # by the kind of parameter: on every page, each parameter sees every value of its kind
    "page": ["99999999999999999999", "2147483648", "0", "abc"],
    "date": ["9999-12", "0001-01", "9999-12-31", "2026-02-30"],
    "text": [LONG, "%_\\", "\u202e'\"<>", "１２"],
    "other": ["2147483648", "99999999999999999999", "-1", "abc"],  # ids, and the choices of filters
}
QUERY_ROUNDS = 4
DATE_PARAMS = {"start", "end", "month", "year", "day"}
# Pages without a form to send (lists, files, printouts): the form fuzz does not open them.
NO_FORMS = re.compile(
    r"\.index$|ledger|\.log$|mine$|calendar_settings|export|download|photo|attachment|qr$|"
    r"template|labels|report|print|healthz|feed"
)
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- watching what reaches the database


class Watch:
    """A ``before_cursor_execute`` listener: every bound value of every statement, checked."""

    INT32 = range(-(2**31), 2**31)

    def __init__(self):
        self.bad = []
        self.request = None

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        for value in self.values(parameters):
            if self.out_of_bounds(value):
                self.bad.append((self.request, repr(value)[:80], statement[:120]))

    def values(self, parameters):
        if isinstance(parameters, dict):
            parameters = parameters.values()
        if isinstance(parameters, (list, tuple, type({}.values()))):
            for item in parameters:
                yield from self.values(item)
        else:
            yield parameters

    def out_of_bounds(self, value):
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, str):
            return bounds.has_control(value, multiline=True)
        if isinstance(value, int):
            return value not in self.INT32
        if isinstance(value, (Decimal, float)):
            return not (value == value and abs(value) <= bounds.MONEY_MAX)  # NaN is not equal to itself
        if isinstance(value, (date, datetime)):
            return not 1900 <= value.year <= 2300
        return False


# ---------------------------------------------------------------- forms, read from HTML


class Forms(HTMLParser):
    """The forms of a page, each {"action", "method", "fields": [{"name", "kind", "value", "checked", "options"}]}."""

    def __init__(self, url):
        super().__init__(convert_charrefs=True)
        self.url, self.forms, self.form, self.select, self.option, self.textarea = url, [], None, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = {
                "action": urljoin(self.url, a.get("action") or self.url),
                "method": (a.get("method") or "get").lower(),
                "fields": [],
            }
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag == "input" and a.get("name") and "hidden" not in a:  # <input hidden>: for password managers
            kind = (a.get("type") or "text").lower()
            if kind not in ("submit", "button", "reset", "image"):
                self.form["fields"].append(
                    {
                        "name": a["name"],
                        "kind": kind,
                        "value": a.get("value") or "",
                        "checked": "checked" in a,
                        "options": [],
                    }
                )
        elif tag == "select" and a.get("name"):
            self.select = {
                "name": a["name"],
                "kind": "select",
                "value": "",
                "checked": False,
                "options": [],
                "multiple": "multiple" in a,
            }
            self.form["fields"].append(self.select)
        elif tag == "option" and self.select is not None:
            self.option = [a.get("value"), "selected" in a, ""]
            self.select["options"].append(self.option)
        elif tag == "textarea" and a.get("name"):
            self.textarea = {"name": a["name"], "kind": "textarea", "value": "", "checked": False, "options": []}
            self.form["fields"].append(self.textarea)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea["value"] += data
        elif self.option is not None:
            self.option[2] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "option":
            self.option = None
        elif tag == "textarea":
            self.textarea = None


def forms_of(url, html):
    parser = Forms(url)
    parser.feed(html)
    return parser.forms


_n = itertools.count(1)


def baseline(fields):
    """The form as a user would send it: what the page filled in, and a plausible value where it left a blank."""
    data = {}
    for f in fields:
        name, kind = f["name"], f["kind"]
        if kind == "file":
            continue
        if kind == "checkbox":
            if f["checked"]:
                data.setdefault(name, []).append(f["value"] or "y")
            continue
        if kind == "radio":
            if f["checked"] or name not in data:  # the checked option, else the first
                data[name] = f["value"]
            continue
        if kind == "select":
            options = [(v if v is not None else text.strip(), selected) for v, selected, text in f["options"]]
            chosen = [v for v, selected in options if selected]
            data[name] = chosen[0] if chosen else next((v for v, _s in options if v), "")
            continue
        value = f["value"]
        if name.split("-")[-1] == "form_token":  # each request a new sending of the form (sent twice: test_steps)
            value = secrets.token_urlsafe(24)
        if not value:
            value = {
                "email": f"fuzz{next(_n)}@example.com",
                "tel": "13800000000",
                "number": "1",
                "date": "2026-03-16",
                "time": "09:00",
                "password": "not the password",
                "textarea": f"测试 {next(_n)}",
                "hidden": "",
            }.get(kind, f"fz{next(_n)}")
        data[name] = value
    return data


def kinds(fields):
    """{name: kind} of the fields one can fuzz: not files, not the CSRF token, not the one-time form token (a token
    that is not one is ignored: the form is then sent without it; tests/test_steps.py tests the tokens)."""
    out = {}
    for f in fields:
        if f["kind"] != "file" and f["name"] != "csrf_token" and f["name"].split("-")[-1] != "form_token":
            out.setdefault(f["name"], f["kind"])
    return out


# ---------------------------------------------------------------- the world, once for the module


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    app = make_app(STORAGE_DIR=str(tmp_path_factory.mktemp("files")))
    if not DATABASE_URL.startswith("postgresql"):
        with app.app_context():
            db.create_all()
    make = Factory(app)
    world = World(make)
    # A quote in the state whose forms (accept, decline) the world's own quotes do not offer.
    world.issued = make.quote(world.a, [world.unit_a1], status="issued", valid_until=date(2099, 12, 31))
    with app.app_context():
        engine = db.engine
    watch = Watch()
    sa.event.listen(engine, "before_cursor_execute", watch)
    yield app, world, watch
    sa.event.remove(engine, "before_cursor_execute", watch)
    reset_database(app)


def client_for(app, world, role):
    return app.test_client(user=world.by_role()[role]) if role else app.test_client()


def send(client, watch, method, url, role, data=None, headers=None):
    watch.request = (
        role,
        method,
        url[:200],
        {k: (v[:40] if isinstance(v, str) else v) for k, v in (data or {}).items()},
    )
    headers = {"Accept-Language": LANGUAGES[role], **(headers or {})}
    response = (
        client.get(url, headers=headers) if method == "GET" else client.post(url, data=data or {}, headers=headers)
    )
    assert response.status_code < 500, watch.request
    return response


def no_bad_values_reached_the_database(watch):
    bad, watch.bad = watch.bad, []
    assert not bad, bad[:5]


def in_language(app, role, message):
    with app.test_request_context(), force_locale("zh_Hans_CN" if LANGUAGES[role].startswith("zh") else "en"):
        return str(message)


def allowed_roles(route):
    return [r for r in ROLES if not route.roles or r in route.roles]


# ---------------------------------------------------------------- paths


RULE_ARG = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def int_rules(app):
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and any(isinstance(c, bounds.IdConverter) for c in r._converters.values())
    ]


def path_with(rule, target, value):
    """The rule's path with ``value`` for the argument ``target``, 1 for other ids, the first of an ``any``."""

    def part(m):
        converter, args, name = m[1], m[2], m[3]
        if name == target:
            return value
        if converter == "any":
            return args.split(",")[0].strip().strip("'\"")
        return "1"

    return RULE_ARG.sub(part, rule.rule)


def test_every_int_rule_uses_the_bounded_converter(fuzz):
    app, _world, _watch = fuzz
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) > 40 and all(r in int_rules(app) for r in rules)


def test_ids_out_of_range_in_any_path_are_404(fuzz):
    """Every rule with an id, each id in turn out of range (the others 1), for a signed-in user: 404, before any view
    (the converter refuses it, so the role does not matter). 2³¹ everywhere; the other values take turns, each on
    several rules (tests/test_bounds.py gives the converter every one of them)."""
    app, world, watch = fuzz
    client = client_for(app, world, "vendor_manager")
    turn = itertools.count()
    for rule in int_rules(app):
        for target in (n for n, c in rule._converters.items() if isinstance(c, bounds.IdConverter)):
            k = next(turn)
            for bad in {OUT_OF_RANGE_IDS[0], *(OUT_OF_RANGE_IDS[(2 * k + j) % len(OUT_OF_RANGE_IDS)] for j in (1, 2))}:
                path = path_with(rule, target, bad)
                method = "GET" if "GET" in rule.methods else "POST"
                response = send(client, watch, method, path, "vendor_manager", headers={"HX-Request": "true"})
                # 405 where a rule of another method shares the path (/equipment/import/<id>: GET and POST):
                # Werkzeug checks the method before the converter.
                assert response.status_code in ((404,) if method == "GET" else (404, 405)), (path, response.status_code)
    no_bad_values_reached_the_database(watch)


@pytest.mark.parametrize("role", ROLES)
def test_the_largest_id_that_exists_nowhere_is_404(fuzz, role):
    """2³¹−1 fits the column: each route's ids in turn, for each role that may use it, reach the view: 404."""
    app, world, watch = fuzz
    adapter = app.url_map.bind("localhost")
    client = client_for(app, world, role)
    for _name, route in ROUTES.items():
        if route is None or role not in allowed_roles(route):
            continue
        url = urlsplit(url_of(world, route, role))
        endpoint, args = adapter.match(url.path, method=route.method)
        for arg in [k for k, v in args.items() if isinstance(v, int)]:
            path = adapter.build(endpoint, {**args, arg: bounds.ID_MAX}, method=route.method)
            response = send(client, watch, route.method, path, role)
            assert response.status_code == 404, (path, response.status_code)
    no_bad_values_reached_the_database(watch)


def test_text_path_segments_answer_below_500(fuzz):
    """The routes with a text segment (a day, a token): bad text in it; a control character is a 400."""
    app, world, watch = fuzz
    client = client_for(app, world, "vendor_manager")
    for rule in app.url_map.iter_rules():
        for target in [m[3] for m in RULE_ARG.finditer(rule.rule) if m[1] in (None, "string", "path")]:
            for bad in [
                "2026-02-30",
                "99999-01-01",
                "0001-01-01",
                "9999-12-31",
                "%00",
                "%1B",
                "%C2%9B",
                "x" * 5000,
                "%E2%80%AE",
                "%2E%2E",
            ]:
                path = path_with(rule, target, bad)
                response = send(client, watch, "GET" if "GET" in rule.methods else "POST", path, "vendor_manager")
                if bad in ("%00", "%1B", "%C2%9B"):
                    assert response.status_code == 400, path
    no_bad_values_reached_the_database(watch)


# ---------------------------------------------------------------- query strings


def query_names():
    """Every query parameter the code reads (``args.get("…")``, ``getlist``, ``values``), and the filter forms'."""
    names = {"page"}  # read by portal.bounds.page_number for every list
    for path in (ROOT / "portal").rglob("*.py"):
        names.update(re.findall(r"""(?:args|values)\.get(?:list)?\(\s*["'](\w+)["']""", path.read_text()))
    for path in (ROOT / "templates").rglob("*.html"):
        for form in re.findall(r'<form[^>]*method="get".*?</form>', path.read_text(), re.S):
            names.update(re.findall(r'name="(\w+)"', form))
    return sorted(names - {"lang"})  # ?lang= switches the language (tests/test_i18n.py)


def query_kind(name):
    return "page" if name == "page" else "date" if name in DATE_PARAMS else "text" if name == "q" else "other"


def get_routes():
    return sorted((n, r) for n, r in ROUTES.items() if r is not None and r.method == "GET")


@pytest.mark.parametrize("role", ROLES)
def test_bad_query_strings_answer_below_500(fuzz, role):
    """Every GET page, with every parameter the portal reads set to a value it cannot use. A page gets QUERY_ROUNDS
    requests, shared out among the roles that may open it; the values rotate over the parameters, so that on every
    page each parameter sees every value of its kind."""
    app, world, watch = fuzz
    client = client_for(app, world, role)
    names = query_names()
    assert {"page", "client", "site", "contract", "q", "month", "start", "end", "year", "unit"} <= set(names)
    for number, (_name, route) in enumerate(get_routes()):
        allowed = allowed_roles(route)
        for k in range(QUERY_ROUNDS):
            if allowed[(k + number) % len(allowed)] != role:
                continue
            params = {}
            for i, p in enumerate(names):
                values = QUERY_VALUES[query_kind(p)]
                params[p] = values[(i + k) % len(values)]
            base = url_of(world, route, role)
            url = base + ("&" if "?" in base else "?") + urlencode(params)
            send(client, watch, "GET", url, role, headers={"HX-Request": "true"} if k % 2 else None)
    no_bad_values_reached_the_database(watch)


def test_control_characters_in_a_query_string_are_a_400_that_says_why(fuzz):
    """Every route, signed in (the roles take turns, each in its language) and signed out: a control character in
    any parameter, known or not, is a 400 page that says why."""
    app, world, watch = fuzz
    names = [*query_names(), "anything"]
    for number, (_name, route) in enumerate(sorted((n, r) for n, r in ROUTES.items() if r is not None)):
        allowed = allowed_roles(route)
        for role in (allowed[number % len(allowed)], None):
            base = url_of(world, route, role)
            char = [NUL, ESC, CSI, "\x7f", "\n", "\t"][number % 6]
            url = base + ("&" if "?" in base else "?") + urlencode({names[number % len(names)]: f"a{char}b"})
            response = send(client_for(app, world, role), watch, route.method, url, role)
            assert response.status_code == 400, url
            assert in_language(app, role, bounds.QUERY_MESSAGE) in response.get_data(as_text=True), url
    no_bad_values_reached_the_database(watch)


# ---------------------------------------------------------------- form fields


def step_forms(app, world, role):
    """The forms of every ticket and complaint step the role may take, from their WTForms classes (a page shows
    only the steps of the current state), as (action URL, fields)."""
    from portal.complaints.views import ACTIONS as COMPLAINT_STEPS
    from portal.roles import Role
    from portal.tickets.views import ACTIONS as TICKET_STEPS

    out = []
    with app.test_request_context():
        for steps, prefix, obj in (
            (TICKET_STEPS, "/tickets", world.ticket_a),
            (COMPLAINT_STEPS, "/complaints", world.complaint_a),
        ):
            for action, step in steps.items():
                if Role(role) not in step.roles:
                    continue
                form = step.form(obj, formdata=None) if steps is TICKET_STEPS else step.form(formdata=None)
                if "version" in form:
                    form.version.data = obj.version
                html = "<form method='post'>" + "".join(str(f()) for f in form) + "</form>"
                out.append((f"{prefix}/{obj.id}/{action}", forms_of("/", html)[0]["fields"]))
    return out


def post_forms(app, world, role, client):
    """{(endpoint, step, field names): (action, fields, shown on a page)} for every POST form the role meets."""
    adapter = app.url_map.bind("localhost")
    found = {}
    pages = [
        url_of(world, route, role)
        for name, route in get_routes()
        if role in allowed_roles(route) and (name == "settings.index" or not NO_FORMS.search(name))
    ]
    pages += [f"/renewals/{world.issued.id}", "/inspections/log?month=2026-03"]
    for url in pages:
        response = client.get(url, headers={"Accept-Language": LANGUAGES[role]})
        if response.status_code == 200 and "html" in response.content_type:
            for form in forms_of(url, response.get_data(as_text=True)):
                if form["method"] == "post":
                    found.setdefault(form["action"], (form["fields"], True))
    for action, fields in step_forms(app, world, role):
        found.setdefault("http://localhost" + action, (fields, False))
    out = {}
    for action, (fields, shown) in found.items():
        path = urlsplit(action)
        endpoint, args = adapter.match(path.path, method="POST")
        if endpoint != "auth.logout" and kinds(fields):
            key = (endpoint, args.get("action"), tuple(sorted(kinds(fields).items())))
            out.setdefault(key, (path.path + (f"?{path.query}" if path.query else ""), fields, shown))
    return out


FUZZED = set()  # each form once, by the first role that meets it (the client roles first)


@pytest.mark.parametrize("role", ["site_admin", "client_staff", "client_admin", "vendor_agent", "vendor_manager"])
def test_bad_form_values_answer_below_500_and_say_why(fuzz, role):
    """Each field of each form with one bad value (the others as the page filled them), the values taking turns
    over the fields; a choice sent thirty times; then all fields bad at once, twice. A control character in a field a user sees is
    refused with the message on the page; nothing out of bounds is ever stored."""
    app, world, watch = fuzz
    client = client_for(app, world, role)
    message = in_language(app, role, bounds.CONTROL_MESSAGE)
    forms = post_forms(app, world, role, client)
    assert forms, role
    turn, said = itertools.count(), 0
    fresh = sum(1 for key, (_url, _fields, shown) in forms.items() if shown and key not in FUZZED)
    for key, (url, fields, shown) in sorted(forms.items()):
        if key in FUZZED:  # the same form on another page, or the same step for another role: once is enough
            continue
        FUZZED.add(key)
        names = kinds(fields)
        for name, kind in names.items():
            values = VALUES[kind] if kind in VALUES else TEXTS
            bad = values[next(turn) % len(values)]
            data = baseline(fields)
            data[name] = [bad] if kind == "checkbox" else bad
            response = send(client, watch, "POST", url, role, data)
            page = response.get_data(as_text=True) if "html" in response.content_type else ""
            # The field shown again (an earlier value, valid after all, may have moved the object on: then the form
            # is no longer offered, and the state's own refusal says why).
            if (
                shown
                and kind in SHOWN
                and bounds.has_control(bad)
                and response.status_code != 302
                and f'name="{name}"' in page
            ):
                assert message in page, (role, url, name, response.status_code)
                said += 1
        for name in {f["name"] for f in fields if f["kind"] == "checkbox" or f.get("multiple")}:
            field = next(f for f in fields if f["name"] == name)
            option = field["value"] or next((v for v, _s, _t in field["options"] if v), "1")
            data = baseline(fields)
            data[name] = [option] * 30  # each copy is a valid choice; together they are not
            send(client, watch, "POST", url, role, data)
        for k in range(2):
            data = baseline(fields)
            for i, (name, kind) in enumerate(names.items()):
                values = VALUES[kind] if kind in VALUES else TEXTS
                data[name] = values[(i + k) % len(values)]
            send(client, watch, "POST", url, role, data)
    no_bad_values_reached_the_database(watch)
    assert said or not fresh, "no refusal was checked on a page"


def test_the_public_forms_too(fuzz):
    """Signed out: the sign-in form, and an invitation."""
    app, world, watch = fuzz
    client = app.test_client()
    fields = forms_of("/login", client.get("/login").get_data(as_text=True))[0]["fields"]
    for name, kind in kinds(fields).items():
        for bad in VALUES.get(kind, TEXTS):
            data = baseline(fields)
            data[name] = bad
            send(client, watch, "POST", "/login", None, data)
    for bad in ["%00", "x" * 5000, "%E2%80%AE"]:
        send(client, watch, "POST", "/invite/" + bad, None, {"password": "\x00" * 12, "confirm": "\x00" * 12})
    no_bad_values_reached_the_database(watch)

"""The scale benchmark (``make bench-scale``, or ``python -m portal.bench``): issue 16's measurements.

Seeds the database given by ``BENCH_DATABASE_URL`` with ``flask seed-scale`` if it has no units yet (sizes from
``BENCH_UNITS``, ``BENCH_TICKETS``, ``BENCH_VISITS``, ``BENCH_COMPLAINTS``), then, for the vendor agent, a client
administrator and a school administrator and each main page:

- in process (Flask test client, signed in): the median of ``BENCH_REQUESTS`` (20) warm requests, the SQL time in
  them (SQLAlchemy's before/after_cursor_execute events), the number of queries and the HTML's size;
- through gunicorn (2 sync workers) with ``wrk`` (8 connections, ``BENCH_WRK_SECONDS`` = 5 s a page): requests per
  second, beside the floor page measured in the same run: a minimal route, only in this benchmark's application,
  that renders the layout and a 50-row table from the equipment table. The ratio to the floor is printed.

Measures only: not a test of the suite, and nothing here changes a page.
"""

import os
import re
import shutil
import statistics
import subprocess  # nosec B404  # the benchmark starts wrk and the server it measures, with fixed arguments
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_scale"
SECRET = "bench-scale-only-not-a-real-secret"  # nosec B105  # the benchmark's own throwaway database, never a deployment
ROLES = [
    ("vendor agent", "agent@vendor.example.com"),
    ("client admin", "admin@edu.example.com"),
    ("school admin", "school1@edu.example.com"),
]
FLOOR_TEMPLATE = """{% extends "base.html" %}
{% block title %}Floor{% endblock %}
{% block content %}
<table class="table table-sm">
<thead><tr><th>#</th><th>Serial</th><th>Asset tag</th><th>Place</th><th>Warranty ends</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.serial }}</td><td>{{ row.asset_tag }}</td>
<td>{{ row.building }} {{ row.room }}</td><td>{{ row.warranty_end }}</td></tr>
{% endfor %}</tbody></table>
{% endblock %}"""


def env_int(name, default):
    return int(os.environ.get(name, default))


def configure_environment(url):
    """The application's environment for the benchmark; returns the database URL, a relative SQLite path made
    absolute from the working directory (Flask-SQLAlchemy would take it from the instance folder)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = Path(url[len("sqlite:///") :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", SECRET)
    os.environ.setdefault("PORTAL_ENV", "production")
    os.environ.setdefault("PORTAL_INSECURE_COOKIES", "1")  # served over plain http on this machine
    os.environ.setdefault("PORTAL_IDLE_MINUTES", "600")  # one signed-in cookie serves the whole run
    return url


def create_bench_app():
    """The portal, plus the floor page (``/_bench/floor``): the layout and a 50-row table read from the
    equipment table, nothing else. For gunicorn: ``portal.bench:create_bench_app()``."""
    import sqlalchemy as sa
    from flask import render_template_string

    from . import create_app
    from .equipment.models import Equipment
    from .extensions import db

    app = create_app()

    @app.route("/_bench/floor")
    def bench_floor():
        rows = db.session.execute(
            sa.select(
                Equipment.id,
                Equipment.serial,
                Equipment.asset_tag,
                Equipment.building,
                Equipment.room,
                Equipment.warranty_end,
            )
            .order_by(Equipment.id.desc())
            .limit(50)
        ).all()
        return render_template_string(FLOOR_TEMPLATE, rows=rows)

    return app


def seed_if_empty(app, sizes):
    import sqlalchemy as sa

    from .equipment.models import Equipment
    from .extensions import db

    with app.app_context():
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            check=True,  # nosec B603  # fixed argument list, no shell
            stdout=subprocess.DEVNULL,
            env={**os.environ, "FLASK_APP": "app"},
        )
        count = db.session.scalar(sa.select(sa.func.count(Equipment.id)))
        db.session.remove()
    if count:
        print(f"Database already seeded ({count} units): seeding skipped.")
        return None
    print("Seeding: {units} units, {tickets} tickets, {visits} visits, {complaints} complaints…".format(**sizes))
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "flask", "seed-scale"] + [f"--{k}={v}" for k, v in sizes.items()],  # nosec B603  # fixed argument list, no shell
        check=True,
        env={**os.environ, "FLASK_APP": "app"},
    )
    seconds = time.monotonic() - started
    print(f"Seeded in {seconds:.0f} s.")
    return seconds


class SqlTimer:
    """SQL statements and the time spent in them (cursor execute to after-execute)."""

    def __init__(self, engine):
        import sqlalchemy as sa

        self.engine, self.queries, self.seconds, self._start = engine, 0, 0.0, []
        sa.event.listen(engine, "before_cursor_execute", self.before)
        sa.event.listen(engine, "after_cursor_execute", self.after)

    def before(self, *args):
        self._start.append(time.perf_counter())

    def after(self, *args):
        self.seconds += time.perf_counter() - self._start.pop()
        self.queries += 1

    def reset(self):
        self.queries, self.seconds, self._start = 0, 0.0, []


def deep_page(app, pages_in=1000):
    """The equipment list's page ``pages_in`` pages in (default sort), or its last page if it has fewer (400 at
    10,000 units): its URL, with the cursor the "next" link of the page before carries (the key of the row just
    before it, found here with one OFFSET, not by the page)."""
    import sqlalchemy as sa

    from .equipment.filters import SORTS
    from .equipment.models import Equipment
    from .extensions import db

    order, per_page = SORTS["end"], app.config["PAGE_SIZE"]
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count(Equipment.id)))
        position = min(pages_in - 1, (total - 1) // per_page) * per_page  # the last row of the page before
        row = (
            db.session.execute(
                sa.select(Equipment.covered_until, Equipment.id).order_by(*order.sql()).offset(position - 1).limit(1)
            ).first()
            if position > 0
            else None
        )
        db.session.remove()
    return f"/equipment/?after={order.encode(position + 1, row)}" if row else "/equipment/"


def targets(app):
    """Per role: the user, and the ids of a unit and a ticket that every role may open (at the demo school)."""
    import sqlalchemy as sa

    from .auth.models import User
    from .extensions import db
    from .tickets.models import Ticket

    with app.app_context():
        users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_([e for _r, e in ROLES])))}
        school = users["school1@edu.example.com"]
        ticket = db.session.scalar(
            sa.select(Ticket)
            .where(Ticket.site_id == school.site_id, Ticket.equipment_id.is_not(None))
            .order_by(Ticket.is_open.desc(), Ticket.id.desc())
            .limit(1)
        )
        for u in users.values():
            db.session.expunge(u)
        return users, ticket.equipment_id, ticket.id


def pages(unit_id, ticket_id, deep="/equipment/?page=1000"):
    """(name, URL) of the pages measured. ``deep``: the equipment list 1,000 pages in (``deep_page``): a seek from
    the cursor of the page before, as its "next" link goes; for a client or a school, the same place in their own
    units (deep in their list, or past its end)."""
    return [
        ("home", "/"),
        ("equipment list", "/equipment/"),
        ("equipment search q=123", "/equipment/?q=123"),
        ("equipment page 1000", deep),
        ("ticket queue", "/tickets/"),
        ("tickets at risk", "/tickets/?view=at_risk"),
        ("tickets breached", "/tickets/?view=breached"),
        ("tickets closed", "/tickets/?view=closed"),
        ("tickets search q=123", "/tickets/?view=all&q=123"),
        ("unit", f"/equipment/{unit_id}"),
        ("ticket", f"/tickets/{ticket_id}"),
        ("warranty overview", "/warranty/"),
        ("complaints", "/complaints/"),
        ("inspection schedule", "/inspections/"),
        ("documents", "/documents/"),
    ]


def role_pages(app, users):
    """The pages only some roles are measured on (issue 17): {role: [(name, URL), …]}. The scorecard for last
    calendar year (the client administrator's: all contracts, then the client's first contract; the school
    administrator's: their school), the evidence behind the response row (page 1, and only the broken ones), the
    vendor's overview and a client's scorecard for this month, the survey list and the issued documents."""
    import sqlalchemy as sa

    from .contracts.models import Contract
    from .extensions import db
    from .i18n import local_today

    admin = users["admin@edu.example.com"]
    with app.test_request_context():
        last_year = local_today().year - 1
    with app.app_context():
        contract_id = db.session.scalar(
            sa.select(Contract.id).where(Contract.client_id == admin.client_id).order_by(Contract.id).limit(1)
        )
        db.session.remove()
    year = f"period=year&value={last_year}"
    return {
        "vendor agent": [
            ("scorecard overview", "/scorecard/overview"),
            ("scorecard client this month", f"/scorecard/?client={admin.client_id}&period=month"),
            ("surveys", "/surveys/"),
            ("issued documents", "/reports/"),
        ],
        "client admin": [
            ("scorecard last year", f"/scorecard/?{year}"),
            ("scorecard contract last year", f"/scorecard/?contract={contract_id}&{year}"),
            ("evidence response", f"/scorecard/evidence/response?{year}"),
            ("evidence response broken", f"/scorecard/evidence/response?{year}&only=broken"),
            ("surveys", "/surveys/"),
        ],
        "school admin": [("scorecard last year", f"/scorecard/?{year}")],
    }


def measure_in_process(app, users, page_lists, requests):
    """{(role, page): (median ms, median SQL ms, queries, bytes, status)}."""
    from .extensions import db

    with app.app_context():
        timer = SqlTimer(db.engine)
    results = {}
    for role, email in ROLES:
        browser = signed_in_client(app, users[email])
        for name, url in [("floor", "/_bench/floor")] + page_lists[role]:
            browser.get(url)  # warm: templates compiled, caches filled
            times, sql, queries, size, status = [], [], 0, 0, None
            for _ in range(requests):
                timer.reset()
                started = time.perf_counter()
                response = browser.get(url)
                times.append((time.perf_counter() - started) * 1000)
                sql.append(timer.seconds * 1000)
                queries, size, status = timer.queries, len(response.data), response.status_code
            results[(role, name)] = (statistics.median(times), statistics.median(sql), queries, size, status)
    return results


def signed_in_client(app, user):
    """A test client signed in as ``user`` as the sign-in form would: a sign-in session row, its id and the time of
    the last activity in the cookie (``portal.auth.gate.load_user`` accepts nothing less)."""
    from flask_login import FlaskLoginClient

    from .auth.gate import now_seconds
    from .auth.services import open_session
    from .extensions import db

    app.test_client_class = FlaskLoginClient
    browser = app.test_client(user=user)
    with app.app_context():
        _, token = open_session(user, address="127.0.0.1", user_agent="bench")
        db.session.commit()
    with browser.session_transaction() as session:
        session["sid"], session["seen"] = token, now_seconds()
    return browser


def session_cookie(app, user):
    browser = signed_in_client(app, user)
    browser.get("/_bench/floor")
    name = app.config["SESSION_COOKIE_NAME"]
    return f"{name}={browser.get_cookie(name).value}"


def wrk_available():
    return shutil.which("wrk") is not None


def drain(base):
    """Wait until both workers have finished what an earlier run left queued (a slow page's backlog), so that it
    does not count against the next page."""
    import urllib.request

    for _ in range(4):
        urllib.request.urlopen(base + "/healthz", timeout=300).read()  # nosec B310  # http://127.0.0.1 of the server the benchmark started


def run_wrk(base, path, cookie, seconds, connections=8):
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-H",
            f"Cookie: {cookie}",  # nosec B603, B607  # wrk from PATH on the developer's machine, fixed arguments, no shell
            base + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        print(f"  wrk {path}: socket errors: {errors.group(1)}", file=sys.stderr)
    return rps, int(bad.group(1)) if bad else 0


def measure_wrk(app, users, page_lists, seconds, port):
    """Start gunicorn (2 sync workers) on the benchmark's application, run wrk against the floor page and every
    page for each role, stop gunicorn. {(role, page): (req/s, non-2xx)}."""
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--worker-class",
            "sync",  # nosec B603  # fixed argument list, no shell
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "portal.bench:create_bench_app()",
        ],
        stdout=log,
        stderr=log,
        env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # nosec B310  # http://127.0.0.1 of the server the benchmark started
                break
            except Exception:
                time.sleep(0.5)
        results = {}
        for role, email in ROLES:
            cookie = session_cookie(app, users[email])
            floors = []
            # The floor before the pages and after them: the ratio is to their mean (a machine's load drifts).
            for name, url in [("floor", "/_bench/floor")] + page_lists[role] + [("floor again", "/_bench/floor")]:
                run_wrk(base, url, cookie, 1)  # warm both workers
                drain(base)
                results[(role, name)] = run_wrk(base, url, cookie, seconds)
                drain(base)
                print(f"  wrk {role:<13} {name:<24} {results[(role, name)][0]:8.1f} req/s", file=sys.stderr)
                if name.startswith("floor"):
                    floors.append(results.pop((role, name)))
            results[(role, "floor")] = (statistics.mean(f[0] for f in floors), sum(f[1] for f in floors))
            results[(role, "floor range")] = (min(f[0] for f in floors), max(f[0] for f in floors))
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def main():
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    url = configure_environment(url)
    sqlite = url.startswith("sqlite")
    sizes = dict(
        units=env_int("BENCH_UNITS", 10_000 if sqlite else 100_000),
        tickets=env_int("BENCH_TICKETS", 20_000 if sqlite else 200_000),
        visits=env_int("BENCH_VISITS", 10_000 if sqlite else 100_000),
        complaints=env_int("BENCH_COMPLAINTS", 2_000 if sqlite else 20_000),
    )
    requests, seconds = env_int("BENCH_REQUESTS", 20), env_int("BENCH_WRK_SECONDS", 5)
    app = create_bench_app()
    seeded = seed_if_empty(app, sizes)
    users, unit_id, ticket_id = targets(app)
    page_list = pages(unit_id, ticket_id, deep_page(app))
    extra = role_pages(app, users)
    page_lists = {role: page_list + extra.get(role, []) for role, _email in ROLES}
    print(f"Database: {re.sub(r'//[^@/]*@', '//', url)}; machine: {machine()}")
    inproc = measure_in_process(app, users, page_lists, requests)
    wrk = None
    if os.environ.get("BENCH_SKIP_WRK") != "1":
        if wrk_available():
            wrk = measure_wrk(app, users, page_lists, seconds, env_int("BENCH_PORT", 5099))
        else:
            print("wrk is not installed (Debian: apt-get install -y wrk): throughput not measured.")
    print()
    print(
        f"In process: median of {requests} warm requests; wrk: 8 connections, {seconds} s, gunicorn 2 sync workers;"
        " vs floor: to the mean of the floor page's req/s measured before and after the role's pages."
    )
    print("| role | page | in-process ms | SQL ms | queries | HTML KB | req/s | vs floor |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for role, _email in ROLES:
        floor = wrk[(role, "floor")][0] if wrk else None
        if wrk:
            low, high = wrk[(role, "floor range")]
            print(f"| {role} | (floor before and after the pages: {low:.0f} and {high:.0f} req/s) | | | | | | |")
        for name, _url in [("floor", None)] + page_lists[role]:
            ms, sql, queries, size, status = inproc[(role, name)]
            note = "" if status == 200 else f" (HTTP {status})"
            rps = f"{wrk[(role, name)][0]:.0f}" if wrk else "–"
            if wrk and wrk[(role, name)][1]:
                rps += f" ({wrk[(role, name)][1]} non-2xx)"
            ratio = f"{wrk[(role, name)][0] / floor:.0%}" if wrk and floor else "–"
            print(f"| {role} | {name}{note} | {ms:.1f} | {sql:.1f} | {queries} | {size / 1024:.0f} | {rps} | {ratio} |")
    if seeded is not None:
        print(f"\nSeeding took {seeded:.0f} s.")


if __name__ == "__main__":
    main()

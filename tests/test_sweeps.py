"""No page view writes; the sweeps (``portal.sweeps``) record each breach, automatic closing and quote expiry once.

The races run real threads (and, for the commands, real processes) against a database they share: a SQLite file, or
the PostgreSQL test database (TEST_DATABASE_URL).
"""

import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import sweeps
from portal.audit.hooks import FILE_TYPES
from portal.auth.models import User
from portal.extensions import db
from portal.renewals import services as quote_services
from portal.renewals.models import QuoteEvent, RenewalQuote
from portal.tickets import services
from portal.tickets.models import CLOCKS, Ticket, TicketEvent
from portal.types import utcnow

from .conftest import at_once
from .factories import Factory, World
from .test_access import PAGES, url_of

ROOT = Path(__file__).resolve().parent.parent
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")
# The one deliberate write of a GET: a download is an audit record (who took which version when), not a page view.
# The public survey page counts each request against its address (the throttle, held in the database).
RECORDED_ON_GET = {"documents.download", "documents.download_version", "surveys.answer"}
LONG_AGO = timedelta(days=30)  # every clock of a ticket filed this long ago has run out, whatever the calendar


@pytest.fixture
def cast(shared):
    return World(Factory(shared))


def sweep_in(app, **kw):
    def call():
        with app.app_context():
            return sweeps.run(**kw)

    return call


def view(app, user, url):
    def call():
        response = app.test_client(user=user).get(url)
        return response.status_code

    return call


# ---------------------------------------------------------------- what time changes, set up


def overdue_tickets(app, world, n):
    """``n`` fault reports filed long ago and never answered: every clock breached, none recorded yet."""
    make = Factory(app)
    sites = [(world.a_school, world.a_site1, world.unit_a1), (world.b_staff, world.b_site, world.unit_b)]
    return [t.id for t in make.tickets([sites[i % 2] for i in range(n)], now=utcnow() - LONG_AGO)]


def unconfirmed_tickets(app, world, n, days=8):
    """``n`` fault reports resolved ``days`` ago and neither confirmed nor reopened."""
    ids = overdue_tickets(app, world, n)
    with app.test_request_context():
        agent = db.session.get(User, world.agent.id)
        resolved_at = utcnow() - timedelta(days=days)
        for ticket_id in ids:
            ticket = db.session.get(Ticket, ticket_id)
            services.respond(ticket, agent, "收到", now=resolved_at - timedelta(hours=1))
            services.resolve(ticket, agent, problem_kind="hardware", cause="c", solution="s", loss="", now=resolved_at)
        db.session.commit()
    return ids


def expired_quotes(app, world, n):
    """``n`` quotes issued to the client and valid until yesterday."""
    make = Factory(app)
    with app.app_context():
        yesterday = sweeps.local_today() - timedelta(days=1)
    return [
        make.quote(
            world.a if i % 2 else world.b,
            [world.unit_a1 if i % 2 else world.unit_b],
            status="issued",
            valid_until=yesterday,
            issued_at=utcnow() - LONG_AGO,
        ).id
        for i in range(n)
    ]


def event_counts(app):
    """How many times each once-only event was recorded: {(kind, object id, what): n}."""
    with app.app_context():
        tickets = db.session.execute(
            sa.select(TicketEvent.action, TicketEvent.ticket_id, TicketEvent.body).where(
                TicketEvent.action.in_(["breach", "auto_closed"])
            )
        ).all()
        quotes = db.session.execute(
            sa.select(QuoteEvent.action, QuoteEvent.quote_id, QuoteEvent.detail).where(QuoteEvent.action == "expired")
        ).all()
    return Counter(tuple(row) for row in [*tickets, *quotes])


def assert_recorded_once(app, breached, closed, expired):
    """Each breach of each overdue ticket, each automatic closing and each expiry recorded exactly once, and the
    rows say the same as their events."""
    counts = event_counts(app)
    assert [k for k, n in counts.items() if n > 1] == []
    expected = {("breach", t, clock) for t in breached for clock in CLOCKS}
    expected |= {("auto_closed", t, "") for t in closed} | {("expired", q, "") for q in expired}
    assert expected <= set(counts), sorted(expected - set(counts))[:5]
    with app.app_context():
        for ticket in db.session.scalars(sa.select(Ticket)):
            recorded = {body for (action, t, body) in counts if action == "breach" and t == ticket.id}
            assert set(filter(None, ticket.breached.split(","))) == recorded, ticket.number
            assert ticket.auto_closed == (("auto_closed", ticket.id, "") in counts), ticket.number
            assert ticket.watch_at is None or ticket.watch_at > utcnow() - timedelta(minutes=5), ticket.number
        statuses = dict(db.session.execute(sa.select(RenewalQuote.id, RenewalQuote.status)).all())
    assert all(statuses[q] == "expired" for q in expired)


# ---------------------------------------------------------------- the races


def test_ten_page_views_and_two_sweeps_at_once_record_each_event_once(shared, cast):
    breached = overdue_tickets(shared, cast, 40)
    closed = unconfirmed_tickets(shared, cast, 4)
    expired = expired_quotes(shared, cast, 6)
    pages = [
        view(shared, cast.agent, "/tickets/"),
        view(shared, cast.agent, "/tickets/?view=breached"),
        view(shared, cast.manager, "/tickets/?view=all&status=closed"),
        view(shared, cast.a_admin, "/renewals/"),
        view(shared, cast.manager, "/renewals/?status=expired"),
        view(shared, cast.a_school, f"/tickets/{breached[0]}"),
        view(shared, cast.agent, f"/tickets/{breached[1]}"),
        view(shared, cast.a_admin, f"/renewals/{expired[1]}"),
        view(shared, cast.a_school, "/"),
        view(shared, cast.a_admin, f"/tickets/{closed[0]}"),
    ]
    results = at_once(*pages, sweep_in(shared), sweep_in(shared))
    assert results[:10] == [200] * 10, results
    for done in results[10:]:
        assert isinstance(done, dict), done
    # Between them the two sweeps did the work once: every overdue ticket, closing and quote, none twice.
    first, second = results[10:]
    assert first["auto_closed"] + second["auto_closed"] == len(closed)
    assert first["expired_quotes"] + second["expired_quotes"] == len(expired)
    assert_recorded_once(shared, breached, closed, expired)
    # Ten more page views and a third sweep change nothing.
    before = event_counts(shared)
    assert at_once(*pages, sweep_in(shared))[:10] == [200] * 10
    assert event_counts(shared) == before


def test_sweeps_in_small_batches_racing_each_other_record_each_event_once(shared, cast):
    """Many short transactions each: the sweeps overlap batch by batch, and on PostgreSQL skip each other's rows."""
    breached = overdue_tickets(shared, cast, 60)
    closed = unconfirmed_tickets(shared, cast, 12)
    expired = expired_quotes(shared, cast, 12)

    def sweep(app):
        def call():
            with app.app_context():
                return (
                    services.record_breaches(batch=5),
                    services.close_unconfirmed(batch=3),
                    quote_services.expire_quotes(sweeps.local_today(), batch=3),
                )

        return call

    results = at_once(*(sweep(shared) for _ in range(4)))
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(r[1] for r in results) == len(closed) and sum(r[2] for r in results) == len(expired)
    assert_recorded_once(shared, breached, closed, expired)


def test_a_step_racing_the_sweep_is_saved_or_refused_never_a_server_error(shared, cast):
    """Engineers answer overdue tickets while the sweep records their breaches: each answer is saved, or refused
    with "changed since you opened it" (409) and kept; the breach is on the timeline once either way."""
    breached = overdue_tickets(shared, cast, 30)
    agent = shared.test_client(user=cast.agent)
    versions = {}
    for ticket_id in breached[:8]:
        page = agent.get(f"/tickets/{ticket_id}").get_data(as_text=True)
        versions[ticket_id] = int(page.split('name="version" type="hidden" value="')[1].split('"')[0])

    def respond(ticket_id):
        def call():
            client = shared.test_client(user=cast.agent)
            return client.post(
                f"/tickets/{ticket_id}/respond", data={"body": "已安排工程师", "version": versions[ticket_id]}
            ).status_code

        return call

    results = at_once(sweep_in(shared), *(respond(t) for t in versions))
    assert isinstance(results[0], dict), results[0]
    assert set(results[1:]) <= {302, 409}, results
    # A ticket an engineer was saving was left to the next run (PostgreSQL skips the rows others hold).
    assert isinstance(sweep_in(shared)(), dict)
    assert_recorded_once(shared, breached, [], [])
    with shared.app_context():
        statuses = dict(db.session.execute(sa.select(Ticket.id, Ticket.status).where(Ticket.id.in_(versions))).all())
    for ticket_id, code in zip(versions, results[1:], strict=False):
        assert statuses[ticket_id] == ("responded" if code == 302 else "new"), (ticket_id, code)


def flask_command(app, *args):
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "PORTAL_ENV": "test",
        "FLASK_APP": "app",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_sweep_commands_at_once_both_succeed_and_record_each_event_once(shared, cast):
    breached = overdue_tickets(shared, cast, 150)
    closed = unconfirmed_tickets(shared, cast, 5)
    expired = expired_quotes(shared, cast, 5)
    runs = [
        flask_command(shared, "sweep"),
        flask_command(shared, "tickets-sweep"),
        flask_command(shared, "quotes-expire"),
        flask_command(shared, "sweep"),
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    assert "Swept:" in outputs[0][0] and "Tickets swept:" in outputs[1][0] and "Quotes expired:" in outputs[2][0]
    assert_recorded_once(shared, breached, closed, expired)


# ---------------------------------------------------------------- a backlog


def test_a_backlog_of_300_overdue_tickets_is_no_work_for_the_queue_and_one_run_of_the_sweep(
    shared, cast, count_queries
):
    agent = shared.test_client(user=cast.agent)
    urls = ["/tickets/", "/tickets/?view=breached", "/"]
    few = {}
    for url in urls:
        with count_queries() as counter:
            assert agent.get(url).status_code == 200
        few[url] = counter.count
    breached = overdue_tickets(shared, cast, 300)
    for url in urls:
        started = time.perf_counter()
        with count_queries() as counter:
            page = agent.get(url)
        assert page.status_code == 200 and time.perf_counter() - started < 2, url
        assert counter.count == few[url], (url, counter.statements)
        assert not [s for s in counter.statements if s.lstrip().upper().startswith(WRITES)], url
    assert "300" in agent.get("/tickets/?view=breached&lang=en").get_data(as_text=True)  # "300 fault reports"

    # One run works the whole backlog off, a batch per short transaction.
    with shared.app_context():
        engine = db.engine
    spans, opened = [], {}
    on_begin = lambda conn: opened.__setitem__(id(conn), time.perf_counter())  # noqa: E731
    on_commit = lambda conn: spans.append(time.perf_counter() - opened.pop(id(conn), time.perf_counter()))  # noqa: E731
    sa.event.listen(engine, "begin", on_begin)
    sa.event.listen(engine, "commit", on_commit)
    try:
        with shared.app_context():
            assert services.record_breaches() == 300
    finally:
        sa.event.remove(engine, "begin", on_begin)
        sa.event.remove(engine, "commit", on_commit)
    assert len(spans) >= 300 // sweeps.BATCH and max(spans) < 5, spans
    assert_recorded_once(shared, breached, [], [])
    with shared.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Ticket.watch_at < utcnow())) == 0


# ---------------------------------------------------------------- the document download, the one write of a GET


def test_downloads_at_once_are_each_recorded(shared, cast):
    """Ten people downloading the same manual at the same moment: ten files sent, ten downloads counted."""
    users = [cast.manager, cast.agent, cast.a_admin, cast.a_staff, cast.a_school] * 2
    url = f"/documents/{cast.doc_a.id}/download"

    def download(user):
        def call():
            response = shared.test_client(user=user).get(url)
            return response.status_code, len(response.get_data())

        return call

    results = at_once(*(download(u) for u in users))
    assert all(r[0] == 200 and r[1] > 0 for r in results), results
    from portal.documents.models import Document, DocumentDownload

    with shared.app_context():
        assert db.session.get(Document, cast.doc_a.id).download_count == 10
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(DocumentDownload)
                .where(DocumentDownload.document_id == cast.doc_a.id)
            )
            == 10
        )


# ---------------------------------------------------------------- no page view writes


def writes_of(statements):
    return [s for s in statements if s.lstrip().upper().startswith(WRITES)]


def audit_insert(statement):
    """An audit record (issue 18): the one write any GET may make, on a connection of its own, for a refusal
    (403/404 of a signed-in user) or a download or export (``portal.audit.hooks``). Nothing else qualifies."""
    return statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT ")


def test_no_get_writes_to_the_database_but_the_recorded_download(app, world, count_queries):
    """Every GET route of tests/test_access.py, as every role that may use it (anonymous for public pages), while
    time has changed things (clocks run out, a resolved ticket left 8 days, a quote past its validity): no INSERT,
    UPDATE or DELETE, except the download's own record — and an audit record (an INSERT into ``audit_event`` and
    nothing else, only for a download, an export or a refusal): strict for every other table."""
    overdue_tickets(app, world, 1)
    unconfirmed_tickets(app, world, 1)
    expired_quotes(app, world, 1)
    checked = 0
    for name, route in sorted(PAGES.items()):
        if route.method != "GET":
            continue
        for role in sorted(route.roles) or [None]:
            client = app.test_client(user=world.by_role()[role]) if role else app.test_client()
            url = url_of(world, route, role)
            for headers in ({}, {"HX-Request": "true"}):
                with count_queries() as counter:
                    response = client.get(url, headers=headers)
                assert response.status_code < 500, (name, role)
                writes = writes_of(counter.statements)
                audited = [w for w in writes if audit_insert(w)]
                writes = [w for w in writes if not audit_insert(w)]
                taken_away = response.headers.get("Content-Disposition", "").startswith("attachment") or (
                    response.mimetype in FILE_TYPES
                )
                assert len(audited) <= 1, (name, role, audited)
                assert not audited or taken_away or response.status_code in (403, 404), (name, role, audited)
                if role and response.status_code == 200 and taken_away:  # every file taken away is recorded
                    assert len(audited) == 1, (name, role)
                if name == "surveys.answer":  # the throttle's counter, whatever the page answers (here 404)
                    assert writes and all("survey_throttle" in w for w in writes), (name, role, writes)
                elif name in RECORDED_ON_GET and response.status_code == 200:
                    assert len(writes) == 3 and "document_download" in writes[0], (name, role, writes)
                else:
                    assert writes == [], (name, role, url, writes)
                checked += 1
    assert checked > 150  # the walk really went through the table


def stat(home, href):
    """The figure of a home page's counter linking to ``href``."""
    found = re.search(r'href="' + re.escape(href) + r'"><span class="stat-value">(\d+)<', home.get_data(as_text=True))
    return int(found.group(1))


def test_pages_show_what_time_changed_before_any_sweep(app, world):
    breached = overdue_tickets(app, world, 1)[0]
    closed = unconfirmed_tickets(app, world, 1, days=7)[0]
    waiting = unconfirmed_tickets(app, world, 1, days=6)[0]
    expired = expired_quotes(app, world, 2)  # one for each client
    with app.app_context():
        numbers = dict(db.session.execute(sa.select(Ticket.id, Ticket.number)).all())
        quote_numbers = dict(db.session.execute(sa.select(RenewalQuote.id, RenewalQuote.number)).all())
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(TicketEvent).where(TicketEvent.action == "auto_closed")
            )
            == 0
        )
    en = {"Accept-Language": "en"}
    agent, manager = app.test_client(user=world.agent), app.test_client(user=world.manager)
    school, admin = app.test_client(user=world.a_school), app.test_client(user=world.a_admin)

    # Clocks run out: breached in the queue's filter, on the home page's count and on the ticket's page.
    page = agent.get("/tickets/?view=breached", headers=en).get_data(as_text=True)
    assert numbers[breached] in page
    assert stat(agent.get("/", headers=en), "/tickets/?view=breached") == 1
    ticket_page = manager.get(f"/tickets/{breached}", headers=en).get_data(as_text=True)
    assert ticket_page.count('class="clock-breached"') == len(CLOCKS)

    # Resolved 7 days ago and not confirmed: closed, on the page, in the lists' filters, not "to confirm".
    page = school.get(f"/tickets/{closed}", headers=en).get_data(as_text=True)
    assert "Closed automatically" in page and "Confirm and rate" not in page and "Is it fixed?" not in page
    report = school.get(f"/tickets/{closed}/report", headers=en).get_data(as_text=True)
    assert "Closed automatically" in report
    in_closed = agent.get("/tickets/?view=all&status=closed", headers=en).get_data(as_text=True)
    in_resolved = agent.get("/tickets/?view=all&status=resolved", headers=en).get_data(as_text=True)
    assert numbers[closed] in in_closed and numbers[closed] not in in_resolved
    assert numbers[waiting] in in_resolved and numbers[waiting] not in in_closed
    assert stat(school.get("/", headers=en), "/tickets/?status=resolved") == 1  # "to confirm": the 6-day one
    page = school.get(f"/tickets/{waiting}", headers=en).get_data(as_text=True)
    assert "Confirm and rate" in page and "closes by itself on" in page
    # ...and its steps are refused, as once it is recorded.
    version = int(page.split('name="version" type="hidden" value="')[1].split('"')[0])
    refused = school.post(f"/tickets/{closed}/reopen", data={"body": "还是不行", "version": version}, headers=en)
    assert refused.status_code == 400 and "closed by itself" in refused.get_data(as_text=True)
    refused = school.post(f"/tickets/{closed}/confirm", data={"rating": "5", "version": version}, headers=en)
    assert refused.status_code == 400

    # A quote past its validity: expired on its page, in the list and its filter, not a decision to take.
    page = admin.get(f"/renewals/{expired[1]}", headers=en).get_data(as_text=True)
    assert "Expired" in page and "Accept the quote" not in page
    listed = manager.get("/renewals/?status=expired", headers=en).get_data(as_text=True)
    assert all(quote_numbers[q] in listed for q in expired)
    assert not any(quote_numbers[q] in manager.get("/renewals/?status=issued").get_data(as_text=True) for q in expired)
    assert stat(admin.get("/", headers=en), "/renewals/?status=issued") == 0  # "quotes to decide"


# ---------------------------------------------------------------- the migration


def filled(table, **given):
    """A row for ``table`` with ``given`` values and a plain value in every other required column."""
    from datetime import date, datetime
    from datetime import time as clock

    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        kind = column.type.python_type
        row[column.name] = {
            str: "x",
            int: 1,
            bool: False,
            datetime: datetime(2026, 1, 5, 8),
            date: date(2026, 1, 5),
            clock: clock(8),
        }.get(kind, 0)
    return row


def test_the_migration_keys_the_events_already_recorded_and_goes_back(tmp_path):
    """Events recorded before 0011 get their key (the earliest of each; copies made by racing page views stay,
    without one), so the sweeps never record them again; and 0011 goes down again with the rows in place."""
    from flask_migrate import downgrade, upgrade

    from .conftest import fresh_schema
    from .test_migrations import empty_database

    app = empty_database(tmp_path)
    try:
        with app.app_context():
            upgrade(revision="0010")
            meta = sa.MetaData()
            with db.engine.begin() as conn:
                meta.reflect(conn)
                t = meta.tables
                conn.execute(t["client"].insert(), filled(t["client"], id=1))
                conn.execute(t["site"].insert(), filled(t["site"], id=1, client_id=1))
                conn.execute(
                    t["ticket"].insert(),
                    filled(
                        t["ticket"],
                        id=1,
                        client_id=1,
                        site_id=1,
                        number="GZ-2026-00001",
                        status="closed",
                        kind="unknown",
                        channel="portal",
                        coverage="in_warranty",
                        severity="B",
                        clock="24x7",
                    ),
                )
                conn.execute(
                    t["renewal_quote"].insert(),
                    filled(t["renewal_quote"], id=1, client_id=1, number="XB-2026-0001", status="expired"),
                )
                events = [
                    ("breach", "response"),
                    ("breach", "response"),
                    ("breach", "proposal"),
                    ("reply", "好"),
                    ("auto_closed", ""),
                    ("auto_closed", ""),
                ]
                for n, (action, body) in enumerate(events, start=1):
                    conn.execute(
                        t["ticket_event"].insert(),
                        filled(t["ticket_event"], id=n, ticket_id=1, action=action, body=body),
                    )
                for n, action in enumerate(["issued", "expired", "expired"], start=1):
                    conn.execute(t["quote_event"].insert(), filled(t["quote_event"], id=n, quote_id=1, action=action))
            upgrade()
            with db.engine.connect() as conn:
                keys = dict(conn.execute(sa.text("SELECT id, key FROM ticket_event")).all())
                assert keys == {1: "breach:response", 2: None, 3: "breach:proposal", 4: None, 5: "auto_closed", 6: None}
                assert dict(conn.execute(sa.text("SELECT id, key FROM quote_event")).all()) == {
                    1: None,
                    2: "expired",
                    3: None,
                }
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO ticket_event (ticket_id, at, action, body, internal, key) "
                        "VALUES (1, :at, 'breach', 'response', false, 'breach:response')"
                    ),
                    {"at": datetime(2026, 1, 6)},
                )
            downgrade(revision="0010")
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM ticket_event")).scalar() == 6
    finally:
        fresh_schema(app)  # PostgreSQL: the models' empty schema again, for the other tests


def test_status_at_a_moment_means_the_same_in_python_and_in_sql(app, world, make):
    """One definition each: a resolved ticket is closed from 7 days after its resolution on (to the second); an
    issued quote is expired from the day after its last valid day."""
    resolved = unconfirmed_tickets(app, world, 1, days=7)[0]
    with app.app_context():
        resolved_at = db.session.get(Ticket, resolved).resolved_at
        moments = [resolved_at + timedelta(days=7, seconds=s) for s in (-1, 0, 1)] + [utcnow()]
        tickets = db.session.scalars(sa.select(Ticket)).all()
        for now in moments:
            python = {t.id: t.status_at(now) for t in tickets}
            assert python == dict(db.session.execute(sa.select(Ticket.id, Ticket.status_at(now))).all())
        assert [db.session.get(Ticket, resolved).status_at(m) for m in moments] == [
            "resolved",
            "closed",
            "closed",
            "closed",
        ]
    today = sweeps_today(app)
    quotes = [
        make.quote(world.a, [world.unit_a1], status=status, valid_until=today + timedelta(days=d)).id
        for status in ("issued", "accepted", "requested")
        for d in (-1, 0)
    ]
    with app.app_context():
        rows = db.session.scalars(
            sa.select(RenewalQuote).where(RenewalQuote.id.in_(quotes)).order_by(RenewalQuote.id)
        ).all()
        for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
            python = {q.id: q.status_on(day) for q in rows}
            assert python == dict(
                db.session.execute(
                    sa.select(RenewalQuote.id, RenewalQuote.status_on(day)).where(RenewalQuote.id.in_(quotes))
                ).all()
            )
        assert [q.status_on(today) for q in rows] == [
            "expired",
            "issued",
            "accepted",
            "accepted",
            "requested",
            "requested",
        ]


def sweeps_today(app):
    with app.app_context():
        return sweeps.local_today()

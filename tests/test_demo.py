"""The demo data (``flask seed-demo``): seeded once only, and its past gives every row of the service scorecard
something real to show, kept and broken, for last calendar year and this year. Plain queries on the stored events
(not the scorecard module), with the rules of the bids written out here."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.auth.models import User
from portal.complaints.models import Complaint
from portal.contracts.models import Contract
from portal.equipment.models import Equipment, WarrantyExtension
from portal.extensions import db
from portal.inspections.models import ServiceLog, Visit
from portal.renewals.models import QuoteLine, RenewalQuote
from portal.sla.holidays import business_calendar
from portal.surveys.models import Survey
from portal.tickets.models import ReplacedPart, Ticket, TicketEvent


@pytest.fixture
def demo(app):
    """The demo as ``make run`` seeds it: the command (with its sweeps), on an empty database."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "Demo data created." in result.output, result.output
    with app.app_context():
        yield app


def bounds(year):
    """[1 January, next 1 January) of ``year`` in the site time zone, as UTC datetimes."""
    from flask import current_app

    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return tuple(datetime(y, 1, 1, tzinfo=tz).astimezone(UTC) for y in (year, year + 1))


def today():
    from portal.demo import today as demo_today

    return demo_today()


def aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def contracts():
    by_number = {c.number: c for c in db.session.scalars(sa.select(Contract))}
    return by_number["HT-2023-017"], by_number["HT-2023-051"]  # the schools' (7×24), the offices' (working hours)


def test_seeding_twice_adds_nothing_the_second_time(demo):
    tickets = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    result = demo.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "already has users" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == tickets
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 9


def test_the_offices_contract_runs_on_working_hours_and_names_a_ceiling(demo):
    schools, offices = contracts()
    assert offices.renewal_ceiling is not None and offices.price * offices.renewal_rate > offices.renewal_ceiling
    for contract in (schools, offices):
        assert (contract.deposit_rate, contract.deposit_months) == (Decimal("0.05"), 12)
    clocks = dict(db.session.execute(sa.select(Ticket.contract_id, Ticket.clock).distinct()).all())
    assert clocks[schools.id] == "24x7" and clocks[offices.id] == "working"


@pytest.mark.parametrize("which", ["last", "this"])
def test_every_kind_of_fault_promise_is_kept_and_broken_on_both_clocks(demo, which):
    from portal.demo_history import periods

    if which == "this" and periods(today())[1] is None:
        pytest.skip("this year is less than seven weeks old: the demo's past is last year's only")
    year = today().year - (which == "last")
    start, end = bounds(year)
    for contract in contracts():
        tickets = db.session.scalars(
            sa.select(Ticket).where(Ticket.contract_id == contract.id, Ticket.filed_at >= start, Ticket.filed_at < end)
        ).all()
        assert len(tickets) >= 8, contract.number
        for name in ("response", "on_site", "resolution"):
            met = [
                t
                for t in tickets
                if getattr(t, f"{name}_met") and getattr(t, f"{name}_met") <= getattr(t, f"{name}_due")
            ]
            late = [
                t
                for t in tickets
                if getattr(t, f"{name}_met") and getattr(t, f"{name}_met") > getattr(t, f"{name}_due")
            ]
            assert met and late, (contract.number, name)
            assert all(name in t.breached.split(",") for t in late), (contract.number, name)
        assert any(t.resolution_met_by == "spare" and t.resolution_met <= t.resolution_due for t in tickets)
        paused = [t for t in tickets if t.paused_seconds > 0]
        assert paused and all(t.resolution_met <= t.resolution_due for t in paused), contract.number
        # Without the pause the fix would have been late: the pause is what kept the promise.
        assert any(t.resolution_met - t.resolution_from > timedelta(minutes=t.resolution_minutes) for t in paused)
        rated = [t.rating for t in tickets if t.status == "closed" and t.rating]
        assert any(r >= 4 for r in rated) and any(r <= 3 for r in rated), contract.number
    schools, _ = contracts()
    filed = db.session.scalars(
        sa.select(Ticket).where(Ticket.contract_id == schools.id, Ticket.filed_at >= start, Ticket.filed_at < end)
    ).all()
    now = datetime.now(UTC)  # a fault still unanswered counts from its filing to now
    no_answer_24h = [t for t in filed if aware(t.response_met or now) - aware(t.filed_at) > timedelta(hours=24)]
    assert len(no_answer_24h) == (1 if which == "last" else 0)


def test_last_year_parts_extensions_and_replacements(demo):
    start, end = bounds(today().year - 1)
    calendar, tz = business_calendar(), ZoneInfo("Asia/Shanghai")
    for contract in contracts():
        parts = db.session.execute(
            sa.select(ReplacedPart.replaced_on, Ticket.filed_at)
            .join(Ticket)
            .where(Ticket.contract_id == contract.id, Ticket.filed_at >= start, Ticket.filed_at < end)
        ).all()
        in_time = [r for r, f in parts if r <= calendar.add_working_days(aware(f).astimezone(tz).date(), 3)]
        assert in_time and len(in_time) < len(parts), (contract.number, parts)
        stopped = db.session.scalars(
            sa.select(Ticket.id).where(
                Ticket.contract_id == contract.id,
                Ticket.work_stopped.is_(True),
                Ticket.filed_at >= start,
                Ticket.filed_at < end,
            )
        ).all()
        granted = db.session.execute(
            sa.select(WarrantyExtension.cause_id, WarrantyExtension.days).where(
                WarrantyExtension.cause_kind == "ticket",
                WarrantyExtension.cause_id.in_(stopped),
                WarrantyExtension.created_at >= start,
                WarrantyExtension.created_at < end,
            )
        ).all()
        assert stopped and sorted(granted) == [(i, 60) for i in sorted(stopped)], contract.number
    flagged = db.session.scalars(
        sa.select(Ticket.equipment_id)
        .join(TicketEvent)
        .where(TicketEvent.action == "replacement_due", TicketEvent.at >= start, TicketEvent.at < end)
    ).all()
    assert len(flagged) >= 2
    units = db.session.scalars(sa.select(Equipment).where(Equipment.id.in_(flagged))).all()
    replaced = [u for u in units if u.replacement_recorded_at is not None]
    still_due = [u for u in units if u.replacement_due_since is not None]
    assert replaced and still_due
    for unit in units:  # flagged at the third repair of the same fault
        repairs = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Ticket)
            .where(Ticket.equipment_id == unit.id, Ticket.problem_kind == "hardware", Ticket.filed_at < end)
        )
        assert repairs == 3


def test_last_year_quotes_within_and_above_the_rate_and_the_ceiling(demo):
    start, end = bounds(today().year - 1)
    lines = db.session.execute(
        sa.select(
            QuoteLine.rate,
            Contract.renewal_rate,
            Contract.renewal_ceiling,
            RenewalQuote.total,
            RenewalQuote.contract_id,
        )
        .join(RenewalQuote, QuoteLine.quote_id == RenewalQuote.id)
        .join(Contract, QuoteLine.contract_id == Contract.id)
        .where(RenewalQuote.issued_at >= start, RenewalQuote.issued_at < end)
    ).all()
    assert any(rate <= contract_rate for rate, contract_rate, *_ in lines)
    assert any(rate > contract_rate for rate, contract_rate, *_ in lines)
    assert any(whole and ceiling is not None and total > ceiling for _r, _c, ceiling, total, whole in lines)
    this_start, this_end = bounds(today().year)
    capped = db.session.execute(
        sa.select(RenewalQuote.total, Contract.renewal_ceiling)
        .join(Contract, RenewalQuote.contract_id == Contract.id)
        .where(RenewalQuote.issued_at >= this_start)
    ).all()
    assert any(total == ceiling for total, ceiling in capped)


def test_last_year_complaints_in_time_late_reopened_and_open(demo):
    start, end = bounds(today().year - 1)
    complaints = db.session.scalars(
        sa.select(Complaint).where(Complaint.received_at >= start, Complaint.received_at < end)
    ).all()
    assert any(c.overdue_rounds == 0 and c.answered_at - c.received_at <= timedelta(hours=24) for c in complaints)
    assert any(c.overdue_rounds > 0 for c in complaints)
    closed = [c for c in complaints if c.status == "closed"]
    assert closed and all(c.rating for c in closed)
    assert any(c.round > 1 for c in closed)
    assert any(c.is_open for c in complaints)


def test_last_year_visits_on_time_late_missed_signed_and_waiting(demo):
    year = today().year - 1
    for contract in contracts():
        visits = db.session.scalars(
            sa.select(Visit).where(
                Visit.contract_id == contract.id, Visit.due_on >= date(year, 1, 1), Visit.due_on < date(year + 1, 1, 1)
            )
        ).all()
        inspections = [v for v in visits if v.kind == "inspection"]
        assert any(v.done_on and v.window_start <= v.done_on <= v.due_on for v in inspections), contract.number
        assert any(v.done_on and v.done_on > v.due_on for v in inspections), contract.number
        assert any(v.done_on is None and v.status == "scheduled" for v in inspections), contract.number
        for kind in ("phone_visit", "return_visit"):
            done = [v for v in visits if v.kind == kind and v.done_on]
            assert len(done) >= 3 and any(v.done_on <= v.due_on for v in done), (contract.number, kind)
        assert any(v.kind == "phone_visit" and v.done_on > v.due_on for v in visits if v.done_on)
        assert any(v.status == "signed" and v.satisfaction for v in visits), contract.number
        assert any(v.status == "done" and v.signed_at is None for v in visits), contract.number
        logs = db.session.scalars(
            sa.select(ServiceLog).where(
                ServiceLog.contract_id == contract.id,
                ServiceLog.work_date >= date(year, 1, 1),
                ServiceLog.work_date < date(year + 1, 1, 1),
            )
        ).all()
        assert any(entry.signed_at for entry in logs) and any(entry.signed_at is None for entry in logs)
    # The offices' contract ends its life within weeks: the full inspection is done, in its window, and signed.
    _, offices = contracts()
    end_of_life = db.session.scalars(
        sa.select(Visit).where(Visit.contract_id == offices.id, Visit.kind == "end_of_life")
    ).all()
    assert end_of_life and all(v.window_start <= v.done_on <= v.due_on and v.signed_at for v in end_of_life)


def test_last_year_satisfaction_has_enough_answers_below_the_bids_share(demo):
    start, end = bounds(today().year - 1)
    answers = db.session.scalars(
        sa.select(Ticket.rating).where(Ticket.closed_at >= start, Ticket.closed_at < end, Ticket.rating.is_not(None))
    ).all()
    answers += db.session.scalars(
        sa.select(Visit.satisfaction).where(
            Visit.signed_at >= start, Visit.signed_at < end, Visit.satisfaction.is_not(None)
        )
    ).all()
    surveys = db.session.scalars(
        sa.select(Survey.rating).where(Survey.answered_at >= start, Survey.answered_at < end)
    ).all()
    assert len(surveys) >= 20
    answers += surveys
    share = sum(1 for r in answers if r >= 4) / len(answers)
    assert 0.75 < share < 0.95, share
    now = datetime.now(UTC)
    waiting = db.session.scalars(sa.select(Survey).where(Survey.answered_at.is_(None))).all()
    assert any(aware(s.expires_at) < now for s in waiting) and any(aware(s.expires_at) > now for s in waiting)
    for survey in db.session.scalars(sa.select(Survey)):
        assert survey.expires_at - survey.created_at == timedelta(days=30) and len(survey.token_hash) == 64
        assert survey.answered_at is None or survey.created_at < survey.answered_at < survey.expires_at


def test_every_demo_account_signs_in_and_the_administrators_see_no_business(demo):
    """The accounts printed by ``flask seed-demo`` (portal.cli.DEMO_ACCOUNTS) exist with their roles and the demo
    password; each of the three administrators lands on their own area, without the vendor's dashboard."""
    from portal.cli import DEMO_ACCOUNTS
    from portal.demo import DEMO_PASSWORD
    from portal.roles import ADMINS

    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    assert {email for email, _role, _scope in DEMO_ACCOUNTS} == set(users)
    assert {role for _email, role, _scope in DEMO_ACCOUNTS} >= {r.value for r in ADMINS}
    for email, role, _scope in DEMO_ACCOUNTS:
        user = users[email]
        assert user.role == role and user.check_password(DEMO_PASSWORD), email
        if role not in ADMINS:
            continue
        assert user.client_id is None and user.site_id is None
        browser = demo.test_client()
        response = browser.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        home = browser.get("/").get_data(as_text=True)  # (in the fixture's app context: one language throughout)
        assert 'id="area-title"' in home and "service-glance" not in home and "/tickets/" not in home, email
        assert browser.get("/tickets/").status_code == 403

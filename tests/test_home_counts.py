"""The home page's counts read open tickets (and open complaints, visits that can still count) only: they give what
a count of every row gave, for every role, and the five tickets due soonest come in the queue's order."""

import re
from datetime import date, timedelta

import sqlalchemy as sa

from portal.complaints.models import AWAITING_ANSWER, Complaint
from portal.extensions import db
from portal.inspections.models import Visit, VisitStatus
from portal.tickets.models import Status, Ticket
from portal.types import utcnow

EN = {"Accept-Language": "en"}


def total(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def every_ticket(user, now):
    """The counts as they were made before: a sum over every ticket in the user's scope."""
    is_open = Ticket.is_open.is_(True)
    fourth = (
        sa.and_(is_open, Ticket.assignee_id.is_(None))
        if user.is_vendor
        else Ticket.status_at(now) == Status.RESOLVED.value
    )
    row = db.session.execute(
        Ticket.scope(
            sa.select(total(is_open), total(Ticket.in_breach(now)), total(Ticket.at_risk(now)), total(fourth)), user
        )
    ).one()
    return dict(zip(("open", "breached", "at_risk", "fourth"), row, strict=True))


def every_complaint(user, now):
    waiting = Complaint.status.in_([s.value for s in AWAITING_ANSWER])
    row = db.session.execute(
        Complaint.scope(
            sa.select(
                total(Complaint.is_open.is_(True)), total(waiting), total(sa.and_(waiting, Complaint.due_at < now))
            ),
            user,
        )
    ).one()
    return dict(zip(("open", "awaiting", "overdue"), row, strict=True))


def every_visit(user, today):
    row = db.session.execute(
        Visit.scope(
            sa.select(
                total(Visit.overdue(today)), total(Visit.due_soon(today)), total(Visit.status == VisitStatus.DONE.value)
            ),
            user,
        )
    ).one()
    return dict(zip(("overdue", "soon", "to_sign"), row, strict=True))


def in_every_state(app, world, make):
    """Tickets open (due, overdue, at risk, with nothing due, unassigned), resolved lately and long ago, closed;
    complaints open and closed; visits overdue, soon, later and awaiting sign-off."""
    filings = [
        (world.a_school, world.a_site1, world.unit_a1),
        (world.a_staff, world.a_site2, world.unit_a2),
        (world.b_staff, world.b_site, world.unit_b),
    ] * 6
    tickets = make.tickets(filings)
    now = utcnow()
    shapes = [
        dict(),  # just filed: open, unassigned, due later
        dict(next_due=now - timedelta(hours=1)),  # overdue
        dict(next_risk=now - timedelta(minutes=5), next_due=now + timedelta(minutes=20)),  # at risk
        dict(breached="response", assignee_id=world.agent.id),
        dict(next_due=None, next_risk=None, status="waiting", assignee_id=world.agent.id),
        dict(status="resolved", is_open=False, resolved_at=now - timedelta(days=1), next_due=None),
        dict(status="resolved", is_open=False, resolved_at=now - timedelta(days=9), next_due=None),
        dict(status="closed", is_open=False, closed_at=now - timedelta(days=3), next_due=None),
        dict(next_due=None, next_risk=None),
        dict(assignee_id=world.agent.id),
    ]  # ten shapes over three filers: each filer gets each shape
    with app.app_context():
        for n, ticket in enumerate(tickets):
            row = db.session.get(Ticket, ticket.id)
            for name, value in shapes[n % len(shapes)].items():
                setattr(row, name, value)
        db.session.commit()
    complaint = make.complaint(world.a_staff, world.a_site2)
    make.complaint(world.b_staff, world.b_site)
    with app.app_context():
        closed = db.session.get(Complaint, complaint.id)
        closed.status, closed.is_open = "closed", False
        db.session.commit()
    today = date.today()
    for days in (-40, -3, 0, 10, 29, 31, 200):
        make.visit(world.contract_a, world.a_site1, due_on=today + timedelta(days=days))
    make.visit(world.contract_b, world.b_site, due_on=today - timedelta(days=2))


def stat(body, label):
    return int(
        re.search(r'class="stat-value">([\d,]+)</span><span class="stat-label">' + re.escape(label), body)
        .group(1)
        .replace(",", "")
    )


def test_the_counts_are_those_of_a_count_of_every_row(app, world, make):
    in_every_state(app, world, make)
    for user in (world.manager, world.agent, world.a_admin, world.a_staff, world.a_school, world.b_admin):
        body = app.test_client(user=user).get("/", headers=EN).get_data(as_text=True)
        with app.test_request_context():
            from portal.i18n import local_today

            now, today = utcnow(), local_today()
            tickets, complaints, visits = every_ticket(user, now), every_complaint(user, now), every_visit(user, today)
        service = body[body.index('id="service-title"') : body.index('id="complaints-title"')]
        assert [stat(service, label) for label in ("Open", "SLA breached", "At risk")] == [
            tickets["open"],
            tickets["breached"],
            tickets["at_risk"],
        ], user.role
        assert stat(service, "Unassigned" if user.is_vendor else "To confirm") == tickets["fourth"], user.role
        complaint_part = body[body.index('id="complaints-title"') : body.index('id="visits-title"')]
        assert [stat(complaint_part, label) for label in ("Open", "Awaiting an answer", "Overdue")] == [
            complaints["open"],
            complaints["awaiting"],
            complaints["overdue"],
        ], user.role
        visit_part = body[body.index('id="visits-title"') :]
        assert [stat(visit_part, label) for label in ("Overdue", "Due within 30 days", "Awaiting sign-off")] == [
            visits["overdue"],
            visits["soon"],
            visits["to_sign"],
        ], user.role
    # Not all zero: the world holds something of each.
    with app.test_request_context():
        assert all(every_ticket(world.manager, utcnow()).values())
        assert every_ticket(world.a_admin, utcnow())["fourth"] >= 1


def test_the_five_due_soonest_come_in_the_queues_order(app, world, make):
    in_every_state(app, world, make)
    from portal.home.views import soonest_tickets

    for user in (world.agent, world.a_admin, world.a_school, world.b_staff):
        with app.test_request_context():
            want = db.session.scalars(
                Ticket.scoped(user, Ticket.is_open.is_(True)).order_by(*Ticket.by_nearest_due()).limit(5)
            ).all()
            got = soonest_tickets(user)
            assert [t.id for t in got] == [t.id for t in want], user.role
            assert got, user.role


def test_the_latest_inspection_is_the_latest_recorded(app, world, make):
    from portal.inspections.services import last_inspection

    make.visit(world.contract_a, world.a_site1, due_on=date(2026, 5, 1), recorded_by=world.agent)
    make.visit(world.contract_a, world.a_site1, due_on=date.today() + timedelta(days=3))  # scheduled: no date yet
    for user, site in ((world.agent, world.a_site1), (world.a_admin, world.a_site1), (world.b_admin, world.b_site)):
        with app.test_request_context():
            latest = last_inspection(user)
            assert latest.done_on is not None and latest.site_id == site.id, user.role
            done = db.session.scalars(Visit.scoped(user, Visit.done_on.is_not(None))).all()
            assert latest.done_on == max(v.done_on for v in done)

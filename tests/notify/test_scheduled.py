"""What time alone tells (``portal.notify.scheduled``): each sweep tells the right people once, nobody outside the
object's scope, and a second run tells nobody again."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from portal.equipment.models import Equipment
from portal.extensions import db
from portal.notify import scheduled
from portal.notify.models import Notification
from portal.tickets import services
from portal.tickets.models import Ticket
from portal.types import utcnow


def told(app, kind):
    """{user id: [params, …]} of the notifications of ``kind`` that a sweep told (a sweep's carry a key; a step's,
    such as a visit's recording telling its school at once, do not)."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Notification.user_id, Notification.params)
            .where(Notification.kind == kind, Notification.key.is_not(None))
            .order_by(Notification.id)
        ).all()
    out = {}
    for user_id, params in rows:
        out.setdefault(user_id, []).append(params)
    return out


def run(app, sweep, now):
    with app.app_context():
        return sweep(now)


def twice(app, sweep, now, kind):
    """Run ``sweep`` twice; the second run must tell nobody. The notifications of ``kind`` after both."""
    first = run(app, sweep, now)
    assert first > 0
    assert run(app, sweep, now) == 0
    return told(app, kind)


def ticket_row(app, ticket):
    with app.app_context():
        row = db.session.get(Ticket, ticket.id)
        db.session.expunge(row)
        return row


def test_a_clock_at_risk_warns_the_staff_on_duty_once_and_again_when_its_due_time_moves(app, world):
    ticket = ticket_row(app, world.ticket_a)
    now = ticket.response_risk + timedelta(seconds=1)
    assert now < ticket.response_due
    notes = twice(app, scheduled.tickets_at_risk, now, "ticket.at_risk")
    # Nobody is assigned: the vendor's staff on duty, never a client's user.
    assert set(notes) == {world.manager.id, world.agent.id}
    mine = [p for p in notes[world.agent.id] if p["number"] == ticket.number]
    assert [p["clock"] for p in mine] == ["response"]
    # The same clock with another due time (a pause moved it) warns again; the old one does not.
    with app.app_context():
        row = db.session.get(Ticket, ticket.id)
        row.response_due, row.response_risk = ticket.response_due + timedelta(hours=1), now + timedelta(minutes=30)
        db.session.commit()
    assert run(app, scheduled.tickets_at_risk, now + timedelta(minutes=31)) >= 1
    mine = [
        p["due_at"]
        for p in told(app, "ticket.at_risk")[world.agent.id]
        if p["number"] == ticket.number and p["clock"] == "response"
    ]
    assert mine == [ticket.response_due.isoformat(), (ticket.response_due + timedelta(hours=1)).isoformat()]


def test_an_assigned_clock_at_risk_warns_the_assignee_only(app, world):
    with app.app_context():
        row = db.session.get(Ticket, world.ticket_b.id)
        row.assignee_id = world.agent.id
        db.session.commit()
    ticket = ticket_row(app, world.ticket_b)
    run(app, scheduled.tickets_at_risk, ticket.response_risk + timedelta(seconds=1))
    numbers = {user: [p["number"] for p in notes] for user, notes in told(app, "ticket.at_risk").items()}
    assert ticket.number in numbers[world.agent.id]
    assert ticket.number not in numbers.get(world.manager.id, [])


def test_a_breach_recorded_tells_the_managers_once(app, world):
    from portal.tickets.services import record_breaches

    ticket = ticket_row(app, world.ticket_a)
    now = ticket.response_due + timedelta(minutes=1)
    run(app, record_breaches, now)
    run(app, record_breaches, now)
    notes = told(app, "ticket.breached")
    assert set(notes) == {world.manager.id}  # not the agents, not the clients
    mine = [p for p in notes[world.manager.id] if p["number"] == ticket.number]
    assert [(p["clock"], p["due_at"]) for p in mine] == [("response", ticket.response_due.isoformat())]


def test_a_breach_long_past_is_recorded_but_told_to_nobody(app, world):
    """A first run after an upgrade records the old breaches on the timelines; it does not flood the managers."""
    from portal.tickets.models import TicketEvent
    from portal.tickets.services import record_breaches

    old = utcnow() - timedelta(days=40)
    with app.app_context():
        db.session.execute(
            sa.update(Ticket)
            .where(Ticket.id == world.ticket_a.id)
            .values(response_due=old, response_risk=old - timedelta(minutes=10), watch_at=old)
        )
        db.session.commit()
    run(app, record_breaches, utcnow())
    with app.app_context():
        assert db.session.scalar(
            sa.select(TicketEvent.id).where(
                TicketEvent.ticket_id == world.ticket_a.id, TicketEvent.key == "breach:response"
            )
        )
    assert told(app, "ticket.breached") == {}


def test_no_response_after_24_hours_tells_the_managers_and_that_clients_administrators(app, world):
    ticket = ticket_row(app, world.ticket_a)
    # The agent answered B's fault in time: nobody hears about it.
    with app.test_request_context():
        from portal.auth.models import User

        services.respond(db.session.get(Ticket, world.ticket_b.id), db.session.get(User, world.agent.id), "收到")
        db.session.commit()
    notes = twice(app, scheduled.tickets_without_response, ticket.filed_at + timedelta(hours=25), "ticket.no_response")
    assert set(notes) == {world.manager.id, world.a_admin.id}
    assert sorted(p["number"] for p in notes[world.a_admin.id]) == sorted(
        [world.ticket_a.number, world.ticket_a2.number]
    )
    assert sorted(p["number"] for p in notes[world.manager.id]) == sorted(
        [world.ticket_a.number, world.ticket_a2.number]
    )
    # Not yet 24 hours: nothing.
    assert run(app, scheduled.tickets_without_response, ticket.filed_at + timedelta(hours=23)) == 0


def test_an_overdue_complaint_tells_the_managers_once_per_round(app, world):
    from portal.complaints.models import Complaint

    with app.app_context():
        due = db.session.get(Complaint, world.complaint_a.id).due_at
    notes = twice(app, scheduled.complaints_overdue, due + timedelta(minutes=5), "complaint.overdue")
    assert set(notes) == {world.manager.id}
    assert Counter(p["number"] for p in notes[world.manager.id]) == Counter(
        {c.number: 1 for c in (world.complaint_a, world.complaint_a2, world.complaint_b)}
    )
    # Another round, overdue again: told again.
    with app.app_context():
        row = db.session.get(Complaint, world.complaint_a.id)
        row.round, row.due_at = 2, due + timedelta(days=1)
        db.session.commit()
    assert run(app, scheduled.complaints_overdue, due + timedelta(days=1, minutes=5)) == 1


def test_a_quote_expiring_within_7_days_reminds_its_clients_administrators(app, world, make):
    today = date(2026, 6, 10)
    now = datetime(2026, 6, 10, 4, 0, tzinfo=UTC)
    soon = make.quote(
        world.a,
        [world.unit_a1],
        status="issued",
        valid_until=today + timedelta(days=5),
        issued_at=now - timedelta(days=20),
    )
    make.quote(world.b, [world.unit_b], status="issued", valid_until=today + timedelta(days=20), issued_at=now)
    make.quote(world.a, [world.unit_a1], status="accepted", valid_until=today + timedelta(days=2), issued_at=now)
    notes = twice(app, scheduled.quotes_expiring, now, "quote.expiring")
    assert notes == {world.a_admin.id: [{"number": soon.number, "valid_on": "2026-06-15"}]}


def test_visits_due_soon_tell_the_schools_users_and_the_agents_overdue_ones_the_managers(app, world, make):
    now = datetime(2026, 6, 10, 0, 0, tzinfo=UTC)  # 08:00 in Beijing
    due = make.visit(world.contract_a, world.a_site1, due_on=date(2026, 6, 13))
    late = make.visit(world.contract_b, world.b_site, due_on=date(2026, 6, 1))
    make.visit(world.contract_a2, world.a_site2, due_on=date(2026, 7, 30))  # not within 7 days
    notes = twice(app, scheduled.visits_due, now, "visit.due")
    # A's first school's users: its administrator and the client's IT staff; and the vendor's agent.
    assert set(notes) == {world.a_school.id, world.a_staff.id, world.agent.id}
    assert notes[world.a_school.id][0]["due_on"] == "2026-06-13"
    assert notes[world.a_school.id][0]["site"] == {"zh": "甲一中", "en": "A School 1"}
    notes = twice(app, scheduled.visits_overdue, now, "visit.overdue")
    assert set(notes) == {world.manager.id}
    assert [p["due_on"] for p in notes[world.manager.id]] == [late.due_on.isoformat()]
    assert due.id != late.id


def test_a_recorded_visit_waiting_for_sign_off_reminds_the_school_administrator(app, world):
    from portal.inspections.models import Visit

    with app.app_context():
        recorded = db.session.get(Visit, world.visit_a.id).recorded_at
    assert run(app, scheduled.visits_waiting_signoff, recorded + timedelta(hours=2)) == 0  # not a day yet
    notes = twice(app, scheduled.visits_waiting_signoff, recorded + timedelta(days=2), "visit.signoff")
    # Each school's administrator hears of their school's visit only; B has none: its administrator.
    assert {user: len(params) for user, params in notes.items()} == {
        world.a_school.id: 1,
        world.a_school2.id: 1,
        world.b_admin.id: 1,
    }


def test_service_log_entries_waiting_for_signature_one_reminder_per_client_and_day(app, world):
    now = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # the world's entries are of 2 March 2026
    notes = twice(app, scheduled.logs_waiting_signature, now, "log.signature")
    assert notes == {
        world.a_admin.id: [{"work_on": "2026-03-02", "engineers": "刘工"}],
        world.b_admin.id: [{"work_on": "2026-03-02", "engineers": "刘工"}],
    }


def test_the_warranty_digest_counts_each_recipients_units_exactly(app, world, make):
    today = date(2026, 12, 1)
    now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    ends = {world.a_site1: [20, 25, 60], world.a_site2: [80, 120], world.b_site: [200]}
    contracts = {world.a_site1: world.contract_a, world.a_site2: world.contract_a2, world.b_site: world.contract_b}
    units = [
        (make.unit(contracts[site], site, world.model).id, days)
        for site, days_list in ends.items()
        for days in days_list
    ]
    with app.app_context():
        db.session.execute(sa.update(Equipment).values(covered_until=today + timedelta(days=400)))  # the world's
        for unit_id, days in units:
            db.session.execute(
                sa.update(Equipment).where(Equipment.id == unit_id).values(covered_until=today + timedelta(days=days))
            )
        db.session.commit()
    notes = twice(app, scheduled.warranty_digest, now, "warranty.digest")
    assert notes == {
        world.a_admin.id: [{"count_90": 4, "count_30": 2}],  # the whole client
        world.a_school.id: [{"count_90": 3, "count_30": 2}],  # their school only
        world.a_school2.id: [{"count_90": 1, "count_30": 0}],
    }  # B has nothing ending within 90 days: its administrator is not told; staff and the vendor never are
    with app.app_context():
        subjects = dict(
            db.session.execute(
                sa.select(Notification.user_id, Notification.site_id).where(Notification.kind == "warranty.digest")
            ).all()
        )
    assert subjects == {
        world.a_admin.id: None,
        world.a_school.id: world.a_site1.id,
        world.a_school2.id: world.a_site2.id,
    }
    # The client's administrator starts a renewal request for those units from it, on the page and in the mail; a
    # school administrator (who may not ask for quotes) is led to the warranty page only.
    admin_page = app.test_client(user=world.a_admin).get("/notifications/?lang=en").get_data(as_text=True)
    assert 'href="/renewals/request?state=expiring"' in admin_page
    school_page = app.test_client(user=world.a_school).get("/notifications/?lang=en").get_data(as_text=True)
    assert "/renewals/request" not in school_page and 'href="/warranty/"' in school_page
    from portal.notify import mails
    from portal.notify.models import Delivery

    with app.app_context():
        for user, offered in ((world.a_admin, True), (world.a_school, False)):
            note = db.session.scalar(
                sa.select(Notification).where(Notification.user_id == user.id, Notification.kind == "warranty.digest")
            )
            mail = mails.notification_mail(Delivery(id=0, notification=note))
            assert ("/renewals/request?state=expiring" in mail.body) is offered
    # Next month: told again.
    assert run(app, scheduled.warranty_digest, datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) > 0


def test_a_due_time_computed_in_local_time_keys_the_same_warning_as_the_one_read_from_the_database(app, world):
    """A clock's due time is an aware datetime in whatever zone it was computed (the site's, after a refresh; UTC,
    read back): the warning's key and params name the instant in UTC, so the next run does not warn again."""
    from zoneinfo import ZoneInfo

    from portal.notify.services import moment

    instant = datetime(2026, 11, 28, 12, 21, 29, tzinfo=UTC)
    assert moment(instant.astimezone(ZoneInfo("Asia/Shanghai"))) == moment(instant) == "2026-11-28T12:21:29+00:00"
    ticket = ticket_row(app, world.ticket_a)
    now = ticket.response_risk + timedelta(seconds=1)
    with app.app_context():
        row = db.session.get(Ticket, ticket.id)
        row.response_due = row.response_due.astimezone(ZoneInfo("Asia/Urumqi"))  # as a refresh leaves it in memory
        first = scheduled.tickets_at_risk(now)
    assert first > 0
    assert run(app, scheduled.tickets_at_risk, now) == 0  # read back from the database: the same warning

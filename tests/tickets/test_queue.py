"""Breaches and the queue (filters, views, order, search by number, assignment, auto-close), spare units and
the arrival recorded by scanning the unit's label."""

import re
from datetime import timedelta

import sqlalchemy as sa

from portal.equipment.models import Equipment
from portal.extensions import db
from portal.tickets import services
from portal.tickets.models import Ticket, TicketEvent
from portal.types import utcnow

from .helpers import act, get, shift

# ---------------------------------------------------------------- breaches, the queue


def breaches_of(app, ticket_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(TicketEvent.body).where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == "breach")
        ).all()


def test_breaches_are_shown_at_once_recorded_once_by_the_sweep_and_filterable(app, world):
    shift(app, world.ticket_a.id, minutes=45)  # filed 45 minutes ago, nobody answered: response breached
    agent = app.test_client(user=world.agent)
    # Before any sweep: the queue, its filter and the ticket's page show the breach; nothing is recorded by a view.
    queue = agent.get("/tickets/?view=breached").get_data(as_text=True)
    assert world.ticket_a.number in queue and world.ticket_b.number not in queue
    page = app.test_client(user=world.a_school).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
    assert "clock-breached" in page and "SLA breached" not in page
    assert breaches_of(app, world.ticket_a.id) == []
    with app.app_context():
        assert services.record_breaches() == 1
        assert services.record_breaches() == 0  # a second sweep finds nothing to look at
        services.check_breaches(db.session.get(Ticket, world.ticket_a.id), utcnow())  # nor records it twice
        db.session.commit()
    assert breaches_of(app, world.ticket_a.id) == ["response"]
    page = app.test_client(user=world.a_school).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
    assert "SLA breached" in page and "Breached" in page
    # Answered late, the response clock stays breached.
    act(agent, world.ticket_a.id, "respond", body="抱歉，马上处理")
    assert get(app, world.ticket_a.id).breached == "response"


def test_overdue_breached_and_at_risk_mean_the_same_in_python_and_in_sql(app, world):
    shift(app, world.ticket_a.id, minutes=45)  # response overdue
    shift(app, world.ticket_b.id, minutes=25)  # 5 of 30 minutes left
    now = utcnow()
    with app.app_context():
        tickets = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
        python = {
            name: {t.id for t in tickets if getattr(t, name)(now)} for name in ("overdue", "in_breach", "at_risk")
        }
        sql = {
            name: set(db.session.scalars(sa.select(Ticket.id).where(getattr(Ticket, name)(now))))
            for name in ("overdue", "in_breach", "at_risk")
        }
    assert python == sql
    assert python == {"overdue": {world.ticket_a.id}, "in_breach": {world.ticket_a.id}, "at_risk": {world.ticket_b.id}}


def test_the_filters_keep_their_choices(app, world):
    page = app.test_client(user=world.agent).get("/tickets/?severity=B&view=all&lang=en").get_data(as_text=True)
    assert '<option value="B" selected>B · Major</option>' in page and '<option value="all" selected>' in page


def test_at_risk_mine_and_unassigned_views(app, world):
    shift(app, world.ticket_a.id, minutes=25)  # 5 of 30 minutes left: at risk
    agent = app.test_client(user=world.agent)
    at_risk = agent.get("/tickets/?view=at_risk").get_data(as_text=True)
    assert world.ticket_a.number in at_risk and world.ticket_b.number not in at_risk
    act(agent, world.ticket_b.id, "respond", body="ok")  # the agent takes ticket B
    mine = agent.get("/tickets/?view=mine").get_data(as_text=True)
    assert world.ticket_b.number in mine and world.ticket_a.number not in mine
    unassigned = agent.get("/tickets/?view=unassigned").get_data(as_text=True)
    assert world.ticket_a.number in unassigned and world.ticket_b.number not in unassigned
    # Clients have no "mine": the default view is used instead.
    assert app.test_client(user=world.a_admin).get("/tickets/?view=mine").status_code == 200


def test_the_queue_is_ordered_by_the_nearest_due_time_and_refreshes_by_htmx(app, world):
    shift(app, world.ticket_b.id, minutes=20)
    agent = app.test_client(user=world.agent)
    page = agent.get("/tickets/").get_data(as_text=True)
    assert page.index(world.ticket_b.number) < page.index(world.ticket_a.number)
    assert 'hx-trigger="every 30s"' in page
    fragment = agent.get("/tickets/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and world.ticket_b.number in fragment
    # The poller follows the filters: after a filter change it asks for the new list, not the first one.
    filtered = agent.get("/tickets/?view=all&severity=B", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'hx-get="/tickets/\?[^"]*severity=B[^"]*" hx-trigger="every 30s"', filtered)
    assert "view=all" in re.search(r'hx-get="([^"]*)" hx-trigger="every 30s"', filtered).group(1)


def test_a_pasted_ticket_number_finds_the_ticket(app, world):
    htmx = {"HX-Request": "true"}  # the list alone, without the search box that repeats the number
    agent = app.test_client(user=world.agent)
    page = agent.get(f"/tickets/?view=all&q={world.ticket_b.number.lower()}", headers=htmx).get_data(as_text=True)
    assert f">{world.ticket_b.number}</a>" in page and world.ticket_a.number not in page
    # A client cannot find another client's ticket by its number.
    page = (
        app.test_client(user=world.a_admin)
        .get(f"/tickets/?view=all&q={world.ticket_b.number}", headers=htmx)
        .get_data(as_text=True)
    )
    assert f">{world.ticket_b.number}</a>" not in page and "empty-state" in page


def test_assign_and_reassign(app, world):
    manager = app.test_client(user=world.manager)
    assert act(manager, world.ticket_a.id, "assign", assignee=world.agent.id).status_code == 302
    assert get(app, world.ticket_a.id).assignee_id == world.agent.id
    assert act(manager, world.ticket_a.id, "assign", assignee=world.a_admin.id).status_code == 400  # not vendor staff
    assert act(manager, world.ticket_a.id, "assign", assignee="").status_code == 302
    assert get(app, world.ticket_a.id).assignee_id is None


def test_saving_the_same_assignee_again_adds_nothing_to_the_timeline(app, world):
    manager = app.test_client(user=world.manager)
    for _ in range(3):
        assert act(manager, world.ticket_a.id, "assign", assignee=world.agent.id).status_code == 302
        assert act(manager, world.ticket_a.id, "assign", assignee="").status_code == 302
        assert act(manager, world.ticket_a.id, "assign", assignee="").status_code == 302
    assert act(manager, world.ticket_a.id, "assign", assignee=world.agent.id).status_code == 302
    assert act(manager, world.ticket_a.id, "assign", assignee=world.agent.id).status_code == 302
    with app.app_context():
        assigned = db.session.scalars(
            sa.select(TicketEvent.body)
            .where(TicketEvent.ticket_id == world.ticket_a.id, TicketEvent.action == "assigned")
            .order_by(TicketEvent.id)
        ).all()
    agent = world.agent.name
    assert assigned == [agent, "", agent, "", agent, "", agent]  # each change once; saving it again adds nothing


def test_unconfirmed_resolved_tickets_close_by_themselves_after_7_days(app, world):
    with app.app_context():
        from portal.auth.models import User

        ticket = db.session.get(Ticket, world.ticket_a.id)
        agent = db.session.get(User, world.agent.id)
        services.respond(ticket, agent, "ok")
        services.resolve(ticket, agent, problem_kind="operation", cause="c", solution="s", loss="")
        db.session.commit()
        assert services.close_unconfirmed(utcnow() + timedelta(days=6, hours=23)) == 0
        assert db.session.get(Ticket, world.ticket_a.id).status == "resolved"
        assert services.close_unconfirmed(utcnow() + timedelta(days=7, minutes=1)) == 1
        assert services.close_unconfirmed(utcnow() + timedelta(days=7, minutes=2)) == 0
        ticket = db.session.get(Ticket, world.ticket_a.id)
        assert ticket.status == "closed" and ticket.auto_closed and ticket.rating is None
        assert ticket.closed_at == ticket.resolved_at + timedelta(days=7)  # when the 7 days ran out, not the sweep
        events = db.session.scalars(
            sa.select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "auto_closed")
        ).all()
        assert events == ["auto_closed"]
    page = app.test_client(user=world.a_school).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
    assert "Closed automatically" in page


# ---------------------------------------------------------------- spare units, QR arrival


def test_a_spare_unit_meets_the_resolution_clock_and_starts_its_own(app, world):
    agent = app.test_client(user=world.agent)
    act(agent, world.ticket_a.id, "respond", body="ok")
    assert act(agent, world.ticket_a.id, "loan", spare="备机 F86EA SN-BJ-01").status_code == 302
    ticket = get(app, world.ticket_a.id)
    assert ticket.resolution_met and ticket.resolution_met_by == "spare"
    with app.app_context():
        assert db.session.get(Equipment, world.unit_a1.id).status == "spare_on_loan"
        loan = db.session.get(Ticket, ticket.id).loans[0]
        assert loan.return_due - loan.lent_at == timedelta(days=app.config["SPARE_RETURN_DAYS"])
        return_due = loan.return_due
    act(agent, ticket.id, "arrive")  # proposal and on site met: what is due next is the original's return
    assert get(app, ticket.id).next_due == return_due
    page = app.test_client(user=world.a_school).get(f"/tickets/{ticket.id}?lang=en").get_data(as_text=True)
    assert "SN-BJ-01" in page and "Original unit back" in page and "by a spare unit" in page
    assert act(agent, ticket.id, "resolve", problem_kind="hardware", cause="c", solution="s").status_code == 400
    assert act(agent, ticket.id, "return", body="修好送回").status_code == 302
    with app.app_context():
        assert db.session.get(Equipment, world.unit_a1.id).status == "in_service"
    assert act(agent, ticket.id, "resolve", problem_kind="hardware", cause="c", solution="s").status_code == 302
    assert get(app, ticket.id).resolution_met_by == "spare"


def test_scanning_the_units_label_records_the_arrival_at_the_scan(app, world):
    agent = app.test_client(user=world.agent)
    act(agent, world.ticket_a.id, "respond", body="ok")
    page = agent.get(f"/equipment/{world.unit_a1.id}").get_data(as_text=True)
    token = re.search(r'name="scan" value="([^"]+)"', page).group(1)
    version = int(re.search(r'name="version" value="(\d+)"', page).group(1))
    from itsdangerous import URLSafeTimedSerializer

    scanned = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="ticket-arrival-scan").loads(token)["at"]
    assert (
        agent.post(f"/tickets/{world.ticket_a.id}/arrive", data={"scan": token, "version": version}).status_code == 302
    )
    ticket = get(app, world.ticket_a.id)
    from datetime import datetime

    assert ticket.on_site_met == datetime.fromisoformat(scanned).replace(microsecond=0)
    assert ticket.status == "on_site"
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(TicketEvent.action)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.id.desc())
                .limit(1)
            )
            == "on_site_scan"
        )
    # Clients see no arrival button; a forged scan is ignored (the arrival is recorded now).
    assert 'name="scan"' not in app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}").get_data(
        as_text=True
    )
    other = app.test_client(user=world.agent)
    act(other, world.ticket_b.id, "respond", body="ok")
    before = utcnow()
    act(other, world.ticket_b.id, "arrive", scan=token)  # a token for another ticket
    assert get(app, world.ticket_b.id).on_site_met >= before.replace(microsecond=0)

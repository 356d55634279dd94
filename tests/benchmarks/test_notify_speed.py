"""Benchmarks: the outbox and the minute's ticket sweep at a size a vendor meets.

- 1,000 e-mails in the outbox, delivered by one worker to a real SMTP server (aiosmtpd, started here): each is
  claimed, rendered in its reader's language and sent, one SMTP connection each;
- the minute's ticket job over 500 open faults whose clocks are all at risk: the first run tells the staff, every
  later run finds nothing new to tell — that later run is what the worker pays every minute.

Measured, not asserted (a time limit fails on a slow machine for no fault of the code): `make bench` prints
pytest-benchmark's table.
"""

from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.jobs import run_job
from portal.notify import delivery as outbox
from portal.notify.models import Delivery, Notification
from portal.tickets.models import CLOCKS, Ticket
from portal.types import utcnow

from ..factories import Factory, World
from ..notify.test_delivery import mailer, smtp  # noqa: F401 - the fixtures: a real SMTP server and its app

MAILS = 1_000
TICKETS = 500


def test_deliver_1000_mails(benchmark, mailer, smtp):  # noqa: F811
    smtp.start()
    world = World(Factory(mailer))
    with mailer.app_context():
        db.session.execute(sa.delete(Delivery))
        ticket = db.session.get(Ticket, world.ticket_a.id)
        users = [world.manager.id, world.agent.id]
        notes = [
            Notification(
                user_id=users[n % 2],
                kind="ticket.filed",
                subject_type="ticket",
                subject_id=ticket.id,
                client_id=ticket.client_id,
                site_id=ticket.site_id,
                params={
                    "number": ticket.number,
                    "severity": "A",
                    "site": {"zh": "一中", "en": "No.1"},
                    "title": f"屏幕不亮 {n}",
                },
            )
            for n in range(MAILS)
        ]
        db.session.add_all(notes)
        db.session.flush()
        db.session.add_all(
            Delivery(
                channel="email",
                notification_id=note.id,
                kind=note.kind,
                subject_type="ticket",
                subject_id=ticket.id,
                params={},
            )
            for note in notes
        )
        db.session.commit()

    def deliver():
        with mailer.app_context():
            return outbox.deliver_due(limit=MAILS)

    counts = benchmark.pedantic(deliver, rounds=1, iterations=1)
    assert counts == {"sent": MAILS, "retry": 0, "failed": 0}
    assert len(smtp.inbox.received) == MAILS


def test_the_minutes_ticket_job_over_500_faults_at_risk(benchmark, app, world, make):
    for n in range(TICKETS):
        make.ticket(world.a_staff, world.a_site1, title=f"故障 {n}")
    now = utcnow()
    with app.app_context():  # every clock of every open fault is past its risk time, none past its due time
        db.session.execute(
            sa.update(Ticket)
            .where(Ticket.is_open.is_(True))
            .values(
                next_risk=now - timedelta(minutes=5),
                **{f"{clock}_risk": now - timedelta(minutes=5) for clock in CLOCKS},
                **{f"{clock}_due": now + timedelta(hours=1) for clock in CLOCKS},
            )
        )
        db.session.commit()
        first = run_job("tickets", now=now)
    assert first["at_risk"] > 0, first

    def again():
        with app.app_context():
            return run_job("tickets", now=now)

    later = benchmark.pedantic(again, rounds=3, iterations=1)
    assert later["at_risk"] == 0, later

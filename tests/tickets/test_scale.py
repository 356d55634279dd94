"""The queue and the lists at 10,000 tickets: the same number of SQL queries as with three, and fast."""

import time
from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.tickets.models import Ticket
from portal.types import utcnow

N = 10_000
URLS = [
    "/tickets/",
    "/tickets/?view=all",
    "/tickets/?view=at_risk",
    "/tickets/?view=breached&severity=B",
    "/tickets/?view=closed&q=GZ",
    "/",
    "/tickets/?page=40&view=all",
]


def bulk_tickets(app, world, n):
    """``n`` copies of the world's tickets, spread over clients, states and due times, inserted in bulk."""
    with app.app_context():
        templates = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
        columns = [c.key for c in Ticket.__table__.columns if c.key not in ("id",)]
        rows = []
        now = utcnow()
        for i in range(n):
            source = templates[i % len(templates)]
            row = {c: getattr(source, c) for c in columns}
            offset = timedelta(minutes=i % 5000 - 2500)
            row.update(
                number=f"GZ-2025-{i:05d}",
                version=1,
                filed_at=source.filed_at + offset,
                next_due=(source.next_due + offset) if i % 3 else None,
                is_open=bool(i % 4),
                status="closed" if not i % 4 else source.status,
                breached="response" if i % 7 == 0 else "",
                next_risk=now - timedelta(minutes=1) if i % 11 == 0 else source.next_risk,
                assignee_id=world.agent.id if i % 2 else None,
                watch_at=None,
            )
            rows.append(row)
        db.session.execute(sa.insert(Ticket), rows)
        db.session.commit()


def test_lists_answer_with_the_same_queries_at_10000_tickets(app, world, count_queries):
    users = [world.manager, world.agent, world.a_admin, world.a_school]
    few = {}
    for user in users:
        browser = app.test_client(user=user)
        for url in URLS:
            with count_queries() as counter:
                assert browser.get(url).status_code == 200
            few[user.email, url] = counter.count
    bulk_tickets(app, world, N)
    for user in users:
        browser = app.test_client(user=user)
        for url in URLS:
            browser.get(url)  # warm
            started = time.perf_counter()
            with count_queries() as counter:
                assert browser.get(url).status_code == 200
            elapsed = time.perf_counter() - started
            assert counter.count == few[user.email, url], (user.email, url, counter.statements)
            assert elapsed < 1.5, (user.email, url, elapsed)

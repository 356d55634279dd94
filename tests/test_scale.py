"""``flask seed-scale``: the counts asked for, the same rows on every run, and pages that render on the result for
each demo role. Small sizes here; the benchmark (``make bench-scale``) runs it at the issue's."""

import pytest
import sqlalchemy as sa

from portal.extensions import db

SIZES = dict(units=300, tickets=600, visits=200, complaints=60, clients=4, schools_per_client=5)


def _serials(app):
    from portal.equipment.models import Equipment
    from portal.tickets.models import Ticket

    with app.app_context():
        return (
            db.session.scalars(sa.select(Equipment.serial).order_by(Equipment.serial)).all(),
            db.session.scalars(sa.select(Ticket.number).order_by(Ticket.number)).all(),
        )


def _seed(app, **extra):
    from portal.scale import seed_scale

    with app.app_context():
        done = seed_scale(**{**SIZES, **extra}, echo=lambda *_: None)
        db.session.commit()
    return done


def test_fills_the_counts_asked_for(app):
    from portal.complaints.models import Complaint
    from portal.equipment.models import Equipment
    from portal.inspections.models import Visit
    from portal.orgs.models import Client, Site
    from portal.tickets.models import Ticket

    _seed(app)
    with app.app_context():

        def count(model, *where):
            return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

        assert count(Client) == 4 and count(Site) == 20
        assert count(Equipment) == 300 and count(Ticket) == 600
        assert count(Visit) == 200 and count(Complaint) == 60
        assert 0 < count(Ticket, Ticket.is_open.is_(True)) < 600 * 0.05  # mostly closed, a few open
        assert count(Ticket, Ticket.status == "closed") > 500
        # Derived fields are those the services would give: every open ticket has its nearest due time.
        assert count(Ticket, Ticket.is_open.is_(True), Ticket.next_due.is_(None), Ticket.status != "waiting") == 0
        assert count(Equipment, Equipment.covered_until != Equipment.warranty_end) == 0
        ends = db.session.scalars(sa.select(Equipment.warranty_end)).all()
        from portal.demo import today

        assert min(ends) < today() < max(ends)  # warranties ended and running
        # The numbering goes on after the seeded tickets.
        from portal.tickets.services import next_number

        last = db.session.scalar(
            sa.select(sa.func.max(Ticket.number)).where(Ticket.number.like(f"GZ-{today().year}-%"))
        )
        assert next_number(today().year) > last


def test_the_searches_find_the_seeded_rows_and_the_rows_added_later(app, world, make):
    """Seeding fills the search indexes (SQLite: once at the end, its triggers off meanwhile), on top of data
    already there too; a search then finds what reading every row finds, and the triggers are back."""
    from portal.equipment.models import Equipment
    from portal.search import matches
    from portal.tickets.models import Ticket

    _seed(app, force=True)
    with app.app_context():
        units = db.session.execute(
            sa.select(Equipment.id, Equipment.serial, Equipment.asset_tag, Equipment.building, Equipment.room)
        ).all()
        titles = db.session.execute(sa.select(Ticket.id, Ticket.number, Ticket.title, Ticket.equipment_text)).all()
        for q in ("123", "-0001", "zc-1", "a1-0001", "楼"):
            found = set(
                db.session.scalars(
                    sa.select(Equipment.id).where(
                        matches(q, Equipment.serial, Equipment.asset_tag, Equipment.building, Equipment.room)
                    )
                )
            )
            assert found == {u.id for u in units if any(q.lower() in text.lower() for text in u[1:])}, q
            found = set(
                db.session.scalars(
                    sa.select(Ticket.id).where(matches(q, Ticket.number, Ticket.title, Ticket.equipment_text))
                )
            )
            assert found == {t.id for t in titles if any(q.lower() in text.lower() for text in t[1:])}, q
    added = make.unit(world.contract_a, world.a_site1, world.model, serial="AFTER-SEEDING-1")
    with app.app_context():
        assert db.session.scalars(sa.select(Equipment.id).where(matches("seeding", Equipment.serial))).all() == [
            added.id
        ]


def test_refuses_a_database_with_data_unless_forced(app, world):
    from portal.equipment.models import Equipment
    from portal.scale import NotEmpty

    with pytest.raises(NotEmpty):
        _seed(app)
    _seed(app, force=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Equipment.id))) >= 300


def test_reproducible(app):
    """Two runs on an empty database write the same serials and numbers."""
    runs = []
    for _ in range(2):
        _seed(app, units=120, tickets=200, visits=50, complaints=20)
        runs.append(_serials(app))
        with app.app_context(), db.engine.begin() as conn:  # empty again (but the audit trail, append-only)
            for table in reversed(db.metadata.sorted_tables):
                if table.name != "audit_event":
                    conn.execute(table.delete())
    assert runs[0] == runs[1] and len(runs[0][0]) == 120 and len(runs[0][1]) == 200


ROLES = ["manager@vendor.example.com", "agent@vendor.example.com", "admin@edu.example.com", "school1@edu.example.com"]


def test_pages_render_for_each_demo_role(app):
    from portal.auth.models import User
    from portal.tickets.models import Ticket

    _seed(app)
    with app.app_context():
        school = db.session.scalar(sa.select(User).where(User.email == "school1@edu.example.com"))
        ticket = db.session.scalar(
            sa.select(Ticket)
            .where(Ticket.site_id == school.site_id, Ticket.equipment_id.is_not(None))
            .order_by(Ticket.id)
        )
        users = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(ROLES)))}
        unit_id, ticket_id = ticket.equipment_id, ticket.id
    pages = [
        "/",
        "/equipment/",
        "/equipment/?q=123",
        "/tickets/",
        f"/equipment/{unit_id}",
        f"/tickets/{ticket_id}",
        "/warranty/",
        "/complaints/",
        "/inspections/",
        "/documents/",
    ]
    for email in ROLES:
        browser = app.test_client(user=users[email])
        for url in pages:
            response = browser.get(url)
            assert response.status_code == 200, (email, url, response.status_code)


def test_command(app):
    runner = app.test_cli_runner()
    args = [
        "seed-scale",
        "--units",
        "100",
        "--tickets",
        "150",
        "--visits",
        "20",
        "--complaints",
        "10",
        "--clients",
        "2",
        "--schools-per-client",
        "3",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "100 units, 150 tickets" in result.output
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "not empty" in again.output

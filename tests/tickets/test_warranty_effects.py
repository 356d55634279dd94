"""A repair's effects on the warranty: 60 days for a fault that stopped work or a breached severity A
resolution, replaced parts' coverage, replacement after repeated repairs, and exclusions with a reason."""

from datetime import timedelta

import sqlalchemy as sa

from portal.equipment.models import Equipment, WarrantyExtension
from portal.extensions import db

from .helpers import act, get, shift

# ---------------------------------------------------------------- warranty effects


def resolve_as(app, user, ticket_id, **extra):
    client = app.test_client(user=user)
    if get(app, ticket_id).status == "new":
        act(client, ticket_id, "respond", body="ok")
    return act(client, ticket_id, "resolve", problem_kind="hardware", cause="c", solution="s", **extra)


def extensions_of(app, unit_id):
    with app.app_context():
        return db.session.scalars(sa.select(WarrantyExtension).where(WarrantyExtension.equipment_id == unit_id)).all()


def test_a_fault_that_stopped_work_adds_60_days_once(app, world):
    with app.app_context():
        end = db.session.get(Equipment, world.unit_a1.id).warranty_end
    assert resolve_as(app, world.manager, world.ticket_a.id, work_stopped="y").status_code == 302
    (extension,) = extensions_of(app, world.unit_a1.id)
    assert extension.days == 60 and extension.cause_kind == "ticket" and extension.cause_id == world.ticket_a.id
    with app.app_context():
        assert db.session.get(Equipment, world.unit_a1.id).warranty_end == end + timedelta(days=60)
    page = app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}?lang=en").get_data(as_text=True)
    assert f"Fault {world.ticket_a.number} stopped work" in page
    # Reopened and resolved again: no second extension.
    act(app.test_client(user=world.a_school), world.ticket_a.id, "reopen", body="又坏了")
    resolve_as(app, world.manager, world.ticket_a.id, work_stopped="y")
    assert len(extensions_of(app, world.unit_a1.id)) == 1


def test_a_part_replaced_on_a_fault_that_extends_the_warranty_carries_the_extended_end(app, world, make):
    """ "The rest of the unit's warranty or 90 days": the rest as it is once this very fault's +60 days are added."""
    from portal.i18n import local_today
    from portal.tickets.models import ReplacedPart

    with app.test_request_context():
        today = local_today()
    unit = make.unit(
        world.contract_a,
        world.a_site1,
        world.model,
        serial="EXT-1",
        warranty_start=today - timedelta(days=330),
        warranty_months=12,
    )  # ends in about 35 days
    ticket = make.ticket(world.a_staff, world.a_site1, unit)
    with app.app_context():
        end = db.session.get(Equipment, unit.id).warranty_end
    assert resolve_as(app, world.manager, ticket.id, work_stopped="y", part_text="主板", quantity=1).status_code == 302
    with app.app_context():
        extended = db.session.get(Equipment, unit.id).warranty_end
        part = db.session.scalars(sa.select(ReplacedPart).where(ReplacedPart.ticket_id == ticket.id)).one()
    assert extended == end + timedelta(days=60) and extended > today + timedelta(days=90)
    assert part.covered_until == extended  # not max(old end, 90 days)


def test_only_the_manager_marks_a_fault_as_having_stopped_work(app, world):
    resolve_as(app, world.agent, world.ticket_a.id, work_stopped="y")
    assert extensions_of(app, world.unit_a1.id) == []


def test_a_breached_resolution_of_a_severity_a_fault_adds_60_days(app, world, make):
    ticket = make.ticket(world.a_staff, world.a_site1, world.unit_a1, severity="A")
    shift(app, ticket.id, hours=50)
    resolve_as(app, world.agent, ticket.id)
    assert "resolution" in get(app, ticket.id).breached
    assert [e.days for e in extensions_of(app, world.unit_a1.id)] == [60]
    late_c = make.ticket(world.a_staff, world.a_site1, world.unit_a1, severity="C")
    shift(app, late_c.id, hours=50)
    resolve_as(app, world.agent, late_c.id)
    assert len(extensions_of(app, world.unit_a1.id)) == 1  # severity C: breached, but no extension


def test_the_same_fault_after_two_repairs_flags_the_unit_for_replacement(app, world, make):
    for _ in range(2):
        repaired = make.ticket(world.a_staff, world.a_site1, world.unit_a1, kind="hardware")
        resolve_as(app, world.agent, repaired.id)
    make.ticket(world.a_staff, world.a_site1, world.unit_a1, kind="software")  # another kind: not counted
    with app.app_context():
        assert db.session.get(Equipment, world.unit_a1.id).replacement_due_since is None
    third = make.ticket(world.a_staff, world.a_site1, world.unit_a1, kind="hardware")
    with app.app_context():
        unit = db.session.get(Equipment, world.unit_a1.id)
        assert unit.replacement_due_since is not None and unit.replacement_ticket_id == third.id
    for user in (world.a_school, world.agent):
        page = app.test_client(user=user).get(f"/equipment/{world.unit_a1.id}?lang=en").get_data(as_text=True)
        assert "Replacement due" in page
    assert "Replacement due" in app.test_client(user=world.a_school).get(f"/tickets/{third.id}?lang=en").get_data(
        as_text=True
    )
    vendor = app.test_client(user=world.manager)
    assert vendor.post(f"/equipment/{world.unit_a1.id}/replacement?lang=en", data={"note": ""}).status_code == 200
    assert (
        vendor.post(f"/equipment/{world.unit_a1.id}/replacement", data={"note": "新机 F86EA SN-NEW-1"}).status_code
        == 302
    )
    with app.app_context():
        unit = db.session.get(Equipment, world.unit_a1.id)
        assert unit.replacement_due_since is None and unit.replacement_note == "新机 F86EA SN-NEW-1"


def test_excluding_a_repair_from_the_warranty_needs_a_reason(app, world):
    agent = app.test_client(user=world.agent)
    agent.get("/?lang=en")
    page = act(agent, world.ticket_a.id, "coverage", excluded="y", body="")
    assert "Say why the repair is excluded." in page.get_data(as_text=True)
    assert get(app, world.ticket_a.id).coverage == "in_warranty"
    assert act(agent, world.ticket_a.id, "coverage", excluded="y", body="人为损坏").status_code == 302
    ticket = get(app, world.ticket_a.id)
    assert ticket.coverage == "excluded" and ticket.coverage_enum.billable and ticket.coverage_note == "人为损坏"
    assert act(agent, world.ticket_a.id, "coverage", body="").status_code == 302
    assert get(app, world.ticket_a.id).coverage == "in_warranty"

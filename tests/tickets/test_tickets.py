"""Fault reports end to end: filing (with photos), every state move and refusal, concurrent edits, scoping and
internal notes, pauses, severity changes, spare loans, warranty effects, replacement, auto-close, the queue."""
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from portal.equipment.models import Equipment, WarrantyExtension
from portal.extensions import db
from portal.tickets import services
from portal.tickets.models import Ticket, TicketEvent
from portal.types import utcnow

FIELDS = {"severity": "B", "kind": "hardware", "title": "屏幕不亮", "description": "302教室黑屏",
          "contact_name": "张老师", "contact_phone": "13800000000", "channel": "portal"}


def png(size=(4, 3)):
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


def get(app, ticket_id):
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        db.session.expunge_all()
        return ticket


def version_of(page):
    return int(re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1))


def act(client, ticket_id, action, **data):
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    data.setdefault("version", version_of(page))
    return client.post(f"/tickets/{ticket_id}/{action}", data=data)


def shift(app, ticket_id, **delta):
    """Move a ticket's filing and due times into the past, as if it had been filed ``delta`` ago."""
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        step = timedelta(**delta)
        for name in ("filed_at", "resolution_from", "response_due", "proposal_due", "on_site_due", "resolution_due",
                     "response_risk", "proposal_risk", "on_site_risk", "resolution_risk", "next_due", "next_risk",
                     "watch_at"):
            if getattr(ticket, name) is not None:
                setattr(ticket, name, getattr(ticket, name) - step)
        db.session.commit()


# ---------------------------------------------------------------- filing


def test_filing_from_the_unit_page_fixes_the_clocks(app, world):
    client = app.test_client(user=world.a_school)
    form = client.get(f"/tickets/new?unit={world.unit_a1.id}&lang=en").get_data(as_text=True)
    assert world.unit_a1.serial in form and world.a_school.name in form  # the unit and the contact, prefilled
    assert "users cannot work" in form  # each severity's meaning is shown
    before = utcnow().replace(microsecond=0)
    response = client.post("/tickets/new", data={**FIELDS, "unit": world.unit_a1.id})
    assert response.status_code == 302
    ticket_id = int(response.headers["Location"].rsplit("/", 1)[1])
    ticket = get(app, ticket_id)
    assert re.fullmatch(r"GZ-\d{4}-\d{5}", ticket.number)
    assert ticket.site_id == world.a_site1.id and ticket.client_id == world.a.id
    assert ticket.coverage == "in_warranty" and ticket.status == "new"
    assert before <= ticket.filed_at <= utcnow()
    assert ticket.response_due - ticket.filed_at == timedelta(minutes=30)
    assert ticket.proposal_due - ticket.filed_at == timedelta(minutes=60)
    assert ticket.on_site_due - ticket.filed_at == timedelta(hours=2)
    assert ticket.resolution_due - ticket.filed_at == timedelta(hours=48)
    assert ticket.next_due == ticket.response_due and ticket.watch_at == ticket.response_due


def test_ticket_numbers_are_sequential_per_year(app, world, make):
    first, second = (make.ticket(world.a_staff, world.a_site1, world.unit_a1) for _ in range(2))
    assert int(second.number[-5:]) == int(first.number[-5:]) + 1


def test_expired_unit_is_recorded_as_billable(app, world, make):
    from datetime import date

    old = make.contract(world.a, accepted_on=date(2020, 1, 1), warranty_months=12)
    unit = make.unit(old, world.a_site1, world.model)
    ticket = make.ticket(world.a_staff, world.a_site1, unit)
    assert ticket.coverage == "expired"
    page = app.test_client(user=world.a_staff).get(f"/tickets/{ticket.id}?lang=en").get_data(as_text=True)
    assert "Expired: billable" in page


def test_unregistered_equipment_at_the_school_admins_own_site(app, world):
    client = app.test_client(user=world.a_school)
    response = client.post("/tickets/new", data={**FIELDS, "equipment_text": "走廊电子班牌"})
    assert response.status_code == 302
    ticket = get(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert ticket.site_id == world.a_site1.id and ticket.equipment_id is None and ticket.coverage == "unregistered"


def test_vendor_files_on_a_clients_behalf_by_phone(app, world):
    client = app.test_client(user=world.agent)
    response = client.post("/tickets/new", data={**FIELDS, "channel": "phone", "site": world.b_site.id,
                                                 "equipment_text": "机房空调"})
    assert response.status_code == 302
    ticket = get(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert ticket.client_id == world.b.id and ticket.channel == "phone"


def test_a_client_cannot_file_at_another_clients_site_or_unit(app, world):
    client = app.test_client(user=world.a_staff)
    assert client.post("/tickets/new", data={**FIELDS, "unit": world.unit_b.id}).status_code == 404
    assert client.post("/tickets/new", data={**FIELDS, "site": world.b_site.id, "equipment_text": "x"}).status_code == 404
    school = app.test_client(user=world.a_school)
    assert school.post("/tickets/new", data={**FIELDS, "unit": world.unit_a2.id}).status_code == 404


def test_bad_input_is_explained_per_field_and_kept(app, world):
    client = app.test_client(user=world.a_staff)
    response = client.post("/tickets/new?lang=en", data={"title": "我打的字", "contact_name": "", "site": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in ("Choose how serious the fault is.", "Describe the fault", "This field is required.",
                    "Choose the site where the equipment is.", "Choose the unit above, or describe the equipment here."):
        assert message in page
    assert 'value="我打的字"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 3  # the world's three, nothing new


def test_unit_search_as_you_type_answers_a_fragment_in_scope(app, world):
    client = app.test_client(user=world.a_school)
    fragment = client.get("/tickets/new?q=0001", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and world.unit_a1.serial in fragment
    assert world.unit_a2.serial not in fragment and world.unit_b.serial not in fragment  # another school, client
    page = client.get("/tickets/new?q=0001").get_data(as_text=True)  # without JavaScript: the whole page
    assert "<html" in page and world.unit_a1.serial in page


# ---------------------------------------------------------------- photos


def upload(client, *files):
    data = {**FIELDS, "unit": client.unit_id, "photos": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/tickets/new?lang=en", data=data, content_type="multipart/form-data")


@pytest.fixture
def filer(app, world):
    client = app.test_client(user=world.a_staff)
    client.unit_id = world.unit_a1.id
    return client


def test_photos_are_checked_by_content_and_served_to_the_ticket_only(app, world, filer):
    response = upload(filer, ("a.png", png()), ("b.jpg", png()))  # a PNG named .jpg is stored as what it is
    assert response.status_code == 302
    ticket_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        photos = db.session.scalars(sa.select(Ticket).where(Ticket.id == ticket_id)).one().photos
        assert [(p.filename, p.content_type, p.width, p.height) for p in photos] == [
            ("a.png", "image/png", 4, 3), ("b.png", "image/png", 4, 3)]
        photo_id = photos[0].id
    image = filer.get(f"/tickets/{ticket_id}/photos/{photo_id}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert Image.open(io.BytesIO(image.data)).convert("RGB").tobytes() == Image.new("RGB", (4, 3), "red").tobytes()
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client(user=world.b_admin).get(f"/tickets/{ticket_id}/photos/{photo_id}").status_code == 404
    # The photo's id under another ticket answers 404 too.
    assert filer.get(f"/tickets/{world.ticket_a.id}/photos/{photo_id}").status_code == 404


@pytest.mark.parametrize(("name", "content", "message"), [
    ("fake.jpg", b"<html><script>alert(1)</script></html>", "is not a real JPEG file"),
    ("truncated.png", png()[:30], "is not a whole PNG image"),
    ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "is not a kind of file accepted here: JPEG or PNG."),
    ("manual.pdf", b"%PDF-1.4 x", "is not a kind of file accepted here: JPEG or PNG."),
    ("empty.png", b"", "is empty"),
    ("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024), "is larger than 5 MB"),
])
def test_fake_broken_and_oversized_photos_are_refused(app, filer, name, content, message):
    response = upload(filer, (name, content))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and name in page
    assert 'value="屏幕不亮"' in page  # what was typed is kept


def test_at_most_five_photos(app, filer):
    response = upload(filer, *[(f"{n}.png", png()) for n in range(6)])
    assert "At most 5 photos." in response.get_data(as_text=True)


# ---------------------------------------------------------------- the life of a ticket


def test_the_whole_life_of_a_ticket(app, world):
    agent, school = app.test_client(user=world.agent), app.test_client(user=world.a_school)
    tid = world.ticket_a.id
    assert act(agent, tid, "respond", body="请先重启，我们远程查看。").status_code == 302
    ticket = get(app, tid)
    assert ticket.status == "responded" and ticket.response_met and ticket.assignee_id == world.agent.id
    assert act(agent, tid, "propose", body="更换电源板").status_code == 302
    assert act(agent, tid, "arrive", body="到达").status_code == 302
    assert act(agent, tid, "resolve", problem_kind="hardware", cause="电源板损坏", solution="更换电源板",
               loss="停课半天", part=world.part.id, quantity=1).status_code == 302
    ticket = get(app, tid)
    assert ticket.status == "resolved" and not ticket.is_open and ticket.resolution_met_by == "fix"
    assert ticket.next_due is None and ticket.watch_at is None
    page = school.get(f"/tickets/{tid}?lang=en").get_data(as_text=True)
    assert "Is it fixed?" in page and "更换电源板" in page and "covered until" in page
    assert act(school, tid, "confirm", rating=4, comment="满意").status_code == 302
    ticket = get(app, tid)
    assert ticket.status == "closed" and ticket.rating == 4 and ticket.closed_at and not ticket.auto_closed
    with app.app_context():
        actions = db.session.scalars(sa.select(TicketEvent.action).where(TicketEvent.ticket_id == tid)
                                     .order_by(TicketEvent.id)).all()
    assert actions == ["filed", "responded", "proposal", "on_site", "resolved", "closed"]
    report = school.get(f"/tickets/{tid}/report?lang=en").get_data(as_text=True)
    assert "Service report" in report and "电源板损坏" in report and "4/5" in report


def test_a_replaced_part_is_covered_for_the_rest_of_the_warranty_or_90_days(app, world, make):
    from datetime import date

    from portal.tickets.models import ReplacedPart

    ending = make.contract(world.a, accepted_on=date(2023, 12, 1), warranty_months=36)  # ends 1 Dec 2026
    unit = make.unit(ending, world.a_site1, world.model)
    ticket = make.ticket(world.a_staff, world.a_site1, unit)
    agent = app.test_client(user=world.agent)
    act(agent, ticket.id, "respond", body="ok")
    act(agent, ticket.id, "resolve", problem_kind="hardware", cause="c", solution="s", part_text="电源线", quantity=2)
    with app.app_context():
        part = db.session.scalars(sa.select(ReplacedPart).where(ReplacedPart.ticket_id == ticket.id)).one()
        assert part.quantity == 2
        assert part.covered_until == part.replaced_on + timedelta(days=90)  # the unit's end is sooner


@pytest.mark.parametrize(("action", "data", "message"), [
    ("resolve", {"problem_kind": "hardware", "cause": "c", "solution": "s"}, "cannot become"),
    ("propose", {"body": "x"}, "cannot become"),
    ("resume", {}, "is not waiting for the client"),
    ("return", {}, "No spare unit is on loan"),
])
def test_invalid_moves_are_refused_with_a_message(app, world, action, data, message):
    agent = app.test_client(user=world.agent)
    agent.get("/?lang=en")
    response = act(agent, world.ticket_a.id, action, **data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert get(app, world.ticket_a.id).status == "new"


def test_the_client_cannot_confirm_an_unresolved_ticket(app, world):
    school = app.test_client(user=world.a_school)
    response = act(school, world.ticket_a.id, "confirm", rating=5)
    assert response.status_code == 400 and get(app, world.ticket_a.id).status == "new"


def test_reopening_gives_a_fresh_resolution_clock(app, world):
    shift(app, world.ticket_a.id, hours=3)
    with app.app_context():
        from portal.auth.models import User

        ticket = db.session.get(Ticket, world.ticket_a.id)
        agent = db.session.get(User, world.agent.id)
        services.respond(ticket, agent, "ok")
        services.resolve(ticket, agent, problem_kind="software", cause="c", solution="s", loss="")
        db.session.commit()
    school = app.test_client(user=world.a_school)
    school.get("/?lang=en")
    assert "Say what is still wrong." in act(school, world.ticket_a.id, "reopen", body="").get_data(as_text=True)
    assert get(app, world.ticket_a.id).status == "resolved"  # the reason is required
    response = act(school, world.ticket_a.id, "reopen", body="还是黑屏")
    assert response.status_code == 302
    ticket = get(app, world.ticket_a.id)
    assert ticket.status == "reopened" and ticket.is_open and ticket.resolution_met is None
    assert ticket.resolution_due - ticket.resolution_from == timedelta(hours=48)
    assert ticket.resolution_from >= ticket.filed_at + timedelta(hours=3)


def test_waiting_for_the_client_pauses_the_resolution_clock(app, world):
    with app.app_context():
        from portal.auth.models import User

        ticket = db.session.get(Ticket, world.ticket_a.id)
        agent = db.session.get(User, world.agent.id)
        school = db.session.get(User, world.a_school.id)
        filed = ticket.filed_at
        services.respond(ticket, agent, "ok", now=filed + timedelta(minutes=10))
        services.wait(ticket, agent, "请开门", now=filed + timedelta(hours=1))
        assert ticket.resolution_due is None and ticket.status == "waiting"
        assert services.clock_state(ticket, "resolution", filed + timedelta(days=5)).value == "paused"
        # The client's reply ends the wait: 3 hours paused push the due time out by 3 hours.
        services.reply(ticket, school, "门已开", now=filed + timedelta(hours=4))
        assert ticket.status == "responded" and ticket.paused_seconds == 180 * 60
        assert ticket.resolution_due == filed + timedelta(hours=51)
        # A second wait adds up.
        services.wait(ticket, agent, "等待备件确认", now=filed + timedelta(hours=5))
        services.resume(ticket, agent, now=filed + timedelta(hours=6))
        assert ticket.paused_seconds == 240 * 60 and ticket.resolution_due == filed + timedelta(hours=52)
        # A step that ends a wait (here the engineer's arrival) resumes the clock first.
        services.wait(ticket, agent, "等学校开门", now=filed + timedelta(hours=7))
        services.arrive(ticket, agent, filed + timedelta(hours=7, minutes=30), now=filed + timedelta(hours=7, minutes=30))
        assert ticket.status == "on_site" and ticket.paused_at is None and ticket.paused_seconds == 270 * 60
        assert ticket.resolution_due == filed + timedelta(hours=52, minutes=30)
        db.session.commit()
    page = app.test_client(user=world.a_school).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
    assert "Waiting for the client" in page


def pause(app, ticket_id, agent_id, spans):
    """Respond, then wait for the client and resume, for each (start, end) in ``spans``; the ticket's resolution
    due time before and after, and the time kept as paused."""
    with app.app_context():
        from portal.auth.models import User

        ticket = db.session.get(Ticket, ticket_id)
        agent = db.session.get(User, agent_id)
        services.respond(ticket, agent, "ok", now=ticket.filed_at + timedelta(minutes=1))
        before = ticket.resolution_due
        for start, end in spans:
            services.wait(ticket, agent, "请开门", now=start)
            services.resume(ticket, agent, now=end)
        db.session.commit()
        return before, ticket.resolution_due, ticket.paused_seconds


@pytest.mark.parametrize("pauses, seconds", [((29,), 29), ((96, 29), 125), ((59, 1, 61), 121), ((3600,), 3600)])
def test_every_second_of_a_pause_moves_the_resolution_due_time_on_a_7x24_clock(app, world, pauses, seconds):
    """A pause is kept to the second, not rounded to whole minutes each: 29 s count, 96 s + 29 s are 125 s."""
    filed = get(app, world.ticket_a.id).filed_at
    spans, start = [], filed + timedelta(minutes=10)
    for length in pauses:
        spans.append((start, start + timedelta(seconds=length)))
        start += timedelta(seconds=length, minutes=5)
    before, after, paused = pause(app, world.ticket_a.id, world.agent.id, spans)
    assert paused == seconds and after - before == timedelta(seconds=seconds)
    assert get(app, world.ticket_a.id).resolution_risk - filed == timedelta(hours=36, seconds=seconds)


def test_a_pause_on_a_working_hours_clock_counts_working_seconds_only(app, world, make):
    """On a working-hours clock a pause moves the fix due time by the working seconds it lasted: 29 s in the
    afternoon are 29 s; a pause over the end of the day, the night and the weekend counts its minutes in working
    hours only, to the second; one that lies wholly outside working hours moves nothing."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from portal.sla.models import SlaPolicy, SlaTarget

    make.save(SlaPolicy(contract_id=world.contract_a.id, clock="working", day_starts=time(9), day_ends=time(17),
                        targets=[SlaTarget(severity=s, response=30, proposal=60, on_site=120, resolution=48 * 60)
                                 for s in "ABCD"]))
    shanghai = ZoneInfo("Asia/Shanghai")

    def local(*args):
        return datetime(*args, tzinfo=shanghai)

    cases = [
        ([(local(2026, 11, 20, 14, 0, 0), local(2026, 11, 20, 14, 0, 29))], 29),  # Friday afternoon
        # Friday 16:59:40 to Monday 09:00:05: 20 s before closing, 5 s after opening.
        ([(local(2026, 11, 20, 16, 59, 40), local(2026, 11, 23, 9, 0, 5))], 25),
        ([(local(2026, 11, 20, 14, 0, 0), local(2026, 11, 20, 14, 1, 36)),
          (local(2026, 11, 20, 16, 59, 31), local(2026, 11, 21, 12, 0, 0))], 125),  # 96 s, and 29 s before closing
        ([(local(2026, 11, 20, 17, 0, 0), local(2026, 11, 23, 9, 0, 0))], 0),  # a night and a weekend
    ]
    for spans, seconds in cases:
        ticket = make.ticket(world.a_staff, world.a_site1, world.unit_a1, now=local(2026, 11, 20, 10, 0))
        assert ticket.clock == "working"
        before, after, paused = pause(app, ticket.id, world.agent.id, spans)
        # 48 working hours from Friday 10:00: due Monday 30 November at 10:00, pushed out by the working seconds.
        assert before.astimezone(shanghai) == local(2026, 11, 30, 10, 0)
        assert paused == seconds
        assert after.astimezone(shanghai) == local(2026, 11, 30, 10, 0) + timedelta(seconds=seconds)


def test_a_severity_change_recomputes_every_due_time_from_filing(app, world, make):
    from portal.sla.models import SlaPolicy, SlaTarget

    make.save(SlaPolicy(contract_id=world.contract_a.id, clock="24x7", targets=[
        SlaTarget(severity=s, response=30 * (i + 1), proposal=60 * (i + 1), on_site=120 * (i + 1),
                  resolution=2880 * (i + 1)) for i, s in enumerate("ABCD")]))
    ticket = make.ticket(world.a_staff, world.a_site1, world.unit_a1, severity="C")
    assert ticket.response_due - ticket.filed_at == timedelta(minutes=90)
    agent = app.test_client(user=world.agent)
    assert act(agent, ticket.id, "severity", severity="A", body="影响全校考试").status_code == 302
    after = get(app, ticket.id)
    assert after.severity == "A" and after.response_due - after.filed_at == timedelta(minutes=30)
    assert after.resolution_due - after.filed_at == timedelta(hours=48)
    with app.app_context():
        body = db.session.scalar(sa.select(TicketEvent.body).where(TicketEvent.ticket_id == ticket.id,
                                                                   TicketEvent.action == "severity"))
    assert body == "C → A: 影响全校考试"
    assert act(agent, ticket.id, "severity", severity="A", body="again").status_code == 400


def test_working_hours_policy_applies_to_the_ticket(app, world, make):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from portal.sla.models import SlaPolicy, SlaTarget

    make.save(SlaPolicy(contract_id=world.contract_a.id, clock="working", day_starts=time(9), day_ends=time(17),
                        targets=[SlaTarget(severity=s, response=30, proposal=60, on_site=120, resolution=960)
                                 for s in "ABCD"]))
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    ticket = make.ticket(world.a_staff, world.a_site1, world.unit_a1, now=friday)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert ticket.response_due.astimezone(shanghai) == friday.replace(hour=17, minute=0)
    assert ticket.on_site_due.astimezone(shanghai) == datetime(2026, 11, 23, 10, 30, tzinfo=shanghai)  # Monday
    assert ticket.resolution_due.astimezone(shanghai) == datetime(2026, 11, 24, 16, 30, tzinfo=shanghai)  # 2 days


# ---------------------------------------------------------------- concurrent edits


def test_the_second_of_two_concurrent_saves_is_refused_and_told_why(app, world, make):
    first, second = app.test_client(user=world.agent), app.test_client(user=world.manager)
    page = second.get(f"/tickets/{world.ticket_a.id}").get_data(as_text=True)
    stale = version_of(page)
    assert act(first, world.ticket_a.id, "respond", body="第一位工程师的回复").status_code == 302
    response = second.post(f"/tickets/{world.ticket_a.id}/respond?lang=en",
                           data={"body": "第二位工程师打的字", "version": stale})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this since you opened it" in page
    assert "What you typed (not saved)" in page and "第二位工程师打的字" in page  # kept, although the step is gone
    assert "第一位工程师的回复" in page  # and the ticket is shown as it is now
    versions = set(re.findall(r'name="version" type="hidden" value="(\d+)"', page))
    assert versions == {str(get(app, world.ticket_a.id).version)}  # every form can now be sent as it is
    with app.app_context():
        bodies = db.session.scalars(sa.select(TicketEvent.body).where(TicketEvent.ticket_id == world.ticket_a.id)).all()
    assert "第二位工程师打的字" not in bodies


def test_a_write_racing_past_the_check_fails_on_the_version_column(app, world):
    from sqlalchemy.orm.exc import StaleDataError

    with app.app_context():
        ticket = db.session.get(Ticket, world.ticket_a.id)
        # another worker saves in between (written past the ORM, which still holds the version it read)
        db.session.execute(sa.text("UPDATE ticket SET version = version + 1 WHERE id = :id"), {"id": ticket.id})
        ticket.title = "改"
        with pytest.raises(StaleDataError):
            db.session.flush()
        db.session.rollback()


# ---------------------------------------------------------------- who sees what


def test_internal_notes_never_reach_client_users(app, world):
    agent = app.test_client(user=world.agent)
    assert act(agent, world.ticket_a.id, "note", body="客户设备疑似人为损坏（内部）").status_code == 302
    assert act(agent, world.ticket_a.id, "reply", body="我们正在处理").status_code == 302
    assert "客户设备疑似人为损坏" in agent.get(f"/tickets/{world.ticket_a.id}").get_data(as_text=True)
    for user in (world.a_school, world.a_staff, world.a_admin):
        client = app.test_client(user=user)
        for url in (f"/tickets/{world.ticket_a.id}", f"/tickets/{world.ticket_a.id}/report"):
            page = client.get(url).get_data(as_text=True)
            assert "我们正在处理" in page
            assert "客户设备疑似人为损坏" not in page
    school = app.test_client(user=world.a_school)
    assert act(school, world.ticket_a.id, "note", body="x").status_code == 403


def test_lists_show_only_what_the_user_may_see(app, world):
    def numbers(user, url="/tickets/?view=all"):
        return set(re.findall(r"GZ-\d{4}-\d{5}", app.test_client(user=user).get(url).get_data(as_text=True)))

    a, a2, b = world.ticket_a.number, world.ticket_a2.number, world.ticket_b.number
    assert numbers(world.manager) == {a, a2, b}
    assert numbers(world.a_admin) == {a, a2}
    assert numbers(world.a_school) == {a}
    assert numbers(world.b_staff) == {b}
    assert numbers(world.a_school, "/") == {a}  # the home page's open tickets
    # A client cannot widen the list with another client's id.
    assert numbers(world.a_admin, f"/tickets/?view=all&client={world.b.id}") == {a, a2}


# ---------------------------------------------------------------- breaches, the queue


def breaches_of(app, ticket_id):
    with app.app_context():
        return db.session.scalars(sa.select(TicketEvent.body).where(TicketEvent.ticket_id == ticket_id,
                                                                    TicketEvent.action == "breach")).all()


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
        python = {name: {t.id for t in tickets if getattr(t, name)(now)} for name in ("overdue", "in_breach", "at_risk")}
        sql = {name: set(db.session.scalars(sa.select(Ticket.id).where(getattr(Ticket, name)(now))))
               for name in ("overdue", "in_breach", "at_risk")}
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
    page = app.test_client(user=world.a_admin).get(f"/tickets/?view=all&q={world.ticket_b.number}",
                                                   headers=htmx).get_data(as_text=True)
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
        assigned = db.session.scalars(sa.select(TicketEvent.body).where(
            TicketEvent.ticket_id == world.ticket_a.id, TicketEvent.action == "assigned").order_by(TicketEvent.id)).all()
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
        events = db.session.scalars(sa.select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id,
                                                                        TicketEvent.action == "auto_closed")).all()
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
    assert agent.post(f"/tickets/{world.ticket_a.id}/arrive", data={"scan": token, "version": version}).status_code == 302
    ticket = get(app, world.ticket_a.id)
    from datetime import datetime

    assert ticket.on_site_met == datetime.fromisoformat(scanned).replace(microsecond=0)
    assert ticket.status == "on_site"
    with app.app_context():
        assert db.session.scalar(sa.select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)
                                 .order_by(TicketEvent.id.desc()).limit(1)) == "on_site_scan"
    # Clients see no arrival button; a forged scan is ignored (the arrival is recorded now).
    assert 'name="scan"' not in app.test_client(user=world.a_school).get(f"/equipment/{world.unit_a1.id}").get_data(
        as_text=True)
    other = app.test_client(user=world.agent)
    act(other, world.ticket_b.id, "respond", body="ok")
    before = utcnow()
    act(other, world.ticket_b.id, "arrive", scan=token)  # a token for another ticket
    assert get(app, world.ticket_b.id).on_site_met >= before.replace(microsecond=0)


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
    """"The rest of the unit's warranty or 90 days": the rest as it is once this very fault's +60 days are added."""
    from portal.i18n import local_today
    from portal.tickets.models import ReplacedPart

    with app.test_request_context():
        today = local_today()
    unit = make.unit(world.contract_a, world.a_site1, world.model, serial="EXT-1",
                     warranty_start=today - timedelta(days=330), warranty_months=12)  # ends in about 35 days
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
    assert "Replacement due" in app.test_client(user=world.a_school).get(
        f"/tickets/{third.id}?lang=en").get_data(as_text=True)
    vendor = app.test_client(user=world.manager)
    assert vendor.post(f"/equipment/{world.unit_a1.id}/replacement?lang=en", data={"note": ""}).status_code == 200
    assert vendor.post(f"/equipment/{world.unit_a1.id}/replacement",
                       data={"note": "新机 F86EA SN-NEW-1"}).status_code == 302
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

"""A ticket's life end to end: every state move and refusal, reopening, pauses and severity changes and their
clocks, working-hours policies, concurrent edits, scoping and internal notes."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.tickets import services
from portal.tickets.models import Ticket, TicketEvent

from .helpers import act, get, shift, version_of

# ---------------------------------------------------------------- the life of a ticket


def test_the_whole_life_of_a_ticket(app, world):
    agent, school = app.test_client(user=world.agent), app.test_client(user=world.a_school)
    tid = world.ticket_a.id
    assert act(agent, tid, "respond", body="请先重启，我们远程查看。").status_code == 302
    ticket = get(app, tid)
    assert ticket.status == "responded" and ticket.response_met and ticket.assignee_id == world.agent.id
    assert act(agent, tid, "propose", body="更换电源板").status_code == 302
    assert act(agent, tid, "arrive", body="到达").status_code == 302
    assert (
        act(
            agent,
            tid,
            "resolve",
            problem_kind="hardware",
            cause="电源板损坏",
            solution="更换电源板",
            loss="停课半天",
            part=world.part.id,
            quantity=1,
        ).status_code
        == 302
    )
    ticket = get(app, tid)
    assert ticket.status == "resolved" and not ticket.is_open and ticket.resolution_met_by == "fix"
    assert ticket.next_due is None and ticket.watch_at is None
    page = school.get(f"/tickets/{tid}?lang=en").get_data(as_text=True)
    assert "Is it fixed?" in page and "更换电源板" in page and "covered until" in page
    assert act(school, tid, "confirm", rating=4, comment="满意").status_code == 302
    ticket = get(app, tid)
    assert ticket.status == "closed" and ticket.rating == 4 and ticket.closed_at and not ticket.auto_closed
    with app.app_context():
        actions = db.session.scalars(
            sa.select(TicketEvent.action).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)
        ).all()
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


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("resolve", {"problem_kind": "hardware", "cause": "c", "solution": "s"}, "cannot become"),
        ("propose", {"body": "x"}, "cannot become"),
        ("resume", {}, "is not waiting for the client"),
        ("return", {}, "No spare unit is on loan"),
    ],
)
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
        services.arrive(
            ticket, agent, filed + timedelta(hours=7, minutes=30), now=filed + timedelta(hours=7, minutes=30)
        )
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

    make.save(
        SlaPolicy(
            contract_id=world.contract_a.id,
            clock="working",
            day_starts=time(9),
            day_ends=time(17),
            targets=[SlaTarget(severity=s, response=30, proposal=60, on_site=120, resolution=48 * 60) for s in "ABCD"],
        )
    )
    shanghai = ZoneInfo("Asia/Shanghai")

    def local(*args):
        return datetime(*args, tzinfo=shanghai)

    cases = [
        ([(local(2026, 11, 20, 14, 0, 0), local(2026, 11, 20, 14, 0, 29))], 29),  # Friday afternoon
        # Friday 16:59:40 to Monday 09:00:05: 20 s before closing, 5 s after opening.
        ([(local(2026, 11, 20, 16, 59, 40), local(2026, 11, 23, 9, 0, 5))], 25),
        (
            [
                (local(2026, 11, 20, 14, 0, 0), local(2026, 11, 20, 14, 1, 36)),
                (local(2026, 11, 20, 16, 59, 31), local(2026, 11, 21, 12, 0, 0)),
            ],
            125,
        ),  # 96 s, and 29 s before closing
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

    make.save(
        SlaPolicy(
            contract_id=world.contract_a.id,
            clock="24x7",
            targets=[
                SlaTarget(
                    severity=s,
                    response=30 * (i + 1),
                    proposal=60 * (i + 1),
                    on_site=120 * (i + 1),
                    resolution=2880 * (i + 1),
                )
                for i, s in enumerate("ABCD")
            ],
        )
    )
    ticket = make.ticket(world.a_staff, world.a_site1, world.unit_a1, severity="C")
    assert ticket.response_due - ticket.filed_at == timedelta(minutes=90)
    agent = app.test_client(user=world.agent)
    assert act(agent, ticket.id, "severity", severity="A", body="影响全校考试").status_code == 302
    after = get(app, ticket.id)
    assert after.severity == "A" and after.response_due - after.filed_at == timedelta(minutes=30)
    assert after.resolution_due - after.filed_at == timedelta(hours=48)
    with app.app_context():
        body = db.session.scalar(
            sa.select(TicketEvent.body).where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "severity")
        )
    assert body == "C → A: 影响全校考试"
    assert act(agent, ticket.id, "severity", severity="A", body="again").status_code == 400


def test_working_hours_policy_applies_to_the_ticket(app, world, make):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from portal.sla.models import SlaPolicy, SlaTarget

    make.save(
        SlaPolicy(
            contract_id=world.contract_a.id,
            clock="working",
            day_starts=time(9),
            day_ends=time(17),
            targets=[SlaTarget(severity=s, response=30, proposal=60, on_site=120, resolution=960) for s in "ABCD"],
        )
    )
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
    response = second.post(
        f"/tickets/{world.ticket_a.id}/respond?lang=en", data={"body": "第二位工程师打的字", "version": stale}
    )
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

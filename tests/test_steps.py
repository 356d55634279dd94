"""Every write once and in order (portal/steps.py), tried as users do it: the same form sent twice at the same
moment (a double click), sent again later (a retry, a reload), and two people moving one object from one state at
once. The requests run in real threads against a database that several connections share: a SQLite file (an
in-memory database is one connection per thread and cannot race) or PostgreSQL. Writes are slowed down so that,
without the locks, both requests would read before either writes."""

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.complaints.models import Complaint, ComplaintEvent
from portal.extensions import db
from portal.inspections.models import ServiceLog, Visit, VisitUnit
from portal.renewals.models import QuoteEvent, RenewalCoverage, RenewalQuote
from portal.steps import TOKEN, Submission
from portal.tickets.models import Ticket, TicketEvent

from .conftest import at_once
from .factories import Factory
from .pages import form, post_form


@pytest.fixture
def app(shared):
    """The portal on a database that real threads share (``shared``: a SQLite file, or PostgreSQL)."""
    return shared


@pytest.fixture(autouse=True)
def slow_writes():
    """Every flush waits a little first: a request that read without a lock would still be reading when the other
    one writes, so the tests below fail without the locks and tokens they test."""

    def pause(session, context, instances):
        if threading.current_thread() is not threading.main_thread():  # the requests, not the set-up
            time.sleep(0.05)

    sa.event.listen(sa.orm.Session, "before_flush", pause)
    yield
    sa.event.remove(sa.orm.Session, "before_flush", pause)


def count(app, model, *criteria):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*criteria))


def twice(app, user, page, action, **typed):
    """The form on ``page`` whose action contains ``action``, filled in, sent twice at the same moment by the same
    user (two connections, as a double click makes). Returns both responses."""
    target, fields = post_form(app.test_client(user=user).get(page), action)
    fields.update(typed)
    target = target or page
    first, second = app.test_client(user=user), app.test_client(user=user)
    return answers(at_once(lambda: first.post(target, data=fields), lambda: second.post(target, data=fields)))


def answers(results):
    """The responses of requests sent at once; an exception in a request fails the test with it."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def landed_together(responses):
    """Both answered with a redirect to the same page: the second sending landed on the first one's result."""
    assert [r.status_code in (302, 303) for r in responses] == [True, True], [r.status_code for r in responses]
    paths = {r.headers["Location"].split("#")[0] for r in responses}
    assert len(paths) == 1, paths
    return paths.pop()


# ---------------------------------------------------------------- the same form twice at once


def test_filing_a_fault_twice_at_once_makes_one_ticket(app, world):
    responses = twice(
        app,
        world.a_staff,
        f"/tickets/new?unit={world.unit_a1.id}",
        "/tickets/new",
        severity="A",
        title="双击提交的故障",
        description="黑屏",
        contact_name="张",
        contact_phone="1",
    )
    path = landed_together(responses)
    assert count(app, Ticket, Ticket.title == "双击提交的故障") == 1
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.title == "双击提交的故障"))
        assert path == f"/tickets/{ticket.id}"


@pytest.mark.parametrize("action, role", [("reply", "a_staff"), ("note", "agent"), ("respond", "agent")])
def test_a_ticket_step_sent_twice_at_once_counts_once(app, world, action, role):
    ticket = world.ticket_a.id
    landed_together(
        twice(app, getattr(world, role), f"/tickets/{ticket}", f"/tickets/{ticket}/{action}", body="只应出现一次的文字")
    )
    assert count(app, TicketEvent, TicketEvent.body == "只应出现一次的文字") == 1


def test_asking_for_a_quote_twice_at_once_makes_one_quote(app, world):
    before = count(app, RenewalQuote)
    landed_together(twice(app, world.a_admin, f"/renewals/request?unit={world.unit_a1.id}", "", note="双击"))
    assert count(app, RenewalQuote) == before + 1


def test_a_quote_line_changed_twice_at_once_counts_once(app, world):
    """A form with a prefix (one per line on the page): its token is prefixed too, and still counts once."""
    quote, line = world.quote_a.id, world.quote_a_line
    landed_together(twice(app, world.manager, f"/renewals/{quote}", f"/lines/{line}", **{f"l{line}-rate_percent": "7"}))
    assert count(app, QuoteEvent, QuoteEvent.quote_id == quote, QuoteEvent.action == "line_changed") == 1


def issued_quote(app, world):
    quote = Factory(app).quote(
        world.a,
        [world.unit_a1],
        status="issued",
        valid_until=date.today() + timedelta(days=30),
        total=Decimal("1904.00"),
    )
    return quote.id


def test_accepting_a_quote_twice_at_once_covers_each_unit_once(app, world):
    quote = issued_quote(app, world)
    landed_together(twice(app, world.a_admin, f"/renewals/{quote}", f"/renewals/{quote}/accept"))
    assert count(app, RenewalCoverage, RenewalCoverage.quote_id == quote) == 1
    assert count(app, QuoteEvent, QuoteEvent.quote_id == quote, QuoteEvent.action == "accepted") == 1


def test_filing_a_complaint_twice_at_once_makes_one(app, world):
    landed_together(
        twice(app, world.a_school, "/complaints/new", "", category="attitude", description="双击提交的投诉")
    )
    assert count(app, Complaint, Complaint.description == "双击提交的投诉") == 1


def complaint_at(app, world, state):
    """world.complaint_a moved to ``state`` through the real steps (routed to the agent, answered)."""
    manager, agent = app.test_client(user=world.manager), app.test_client(user=world.agent)
    cid = world.complaint_a.id
    manager.post(
        f"/complaints/{cid}/assign",
        data={**form(manager.get(f"/complaints/{cid}"), "/assign"), "handler": world.agent.id},
    )
    if state == "answered":
        agent.post(
            f"/complaints/{cid}/answer", data={**form(agent.get(f"/complaints/{cid}"), "/answer"), "body": "已处理"}
        )
    with app.app_context():
        assert db.session.get(Complaint, cid).status == state
    return cid


@pytest.mark.parametrize(
    "action, state, role, typed",
    [
        ("answer", "assigned", "agent", {"body": "答复只应有一次"}),
        ("close", "answered", "a_school", {"rating": "5", "body": "满意"}),
        ("reject", "answered", "a_school", {"body": "不满意，只应重开一次"}),
    ],
)
def test_a_complaint_step_sent_twice_at_once_counts_once(app, world, action, state, role, typed):
    cid = complaint_at(app, world, state)
    rounds = count(app, ComplaintEvent, ComplaintEvent.complaint_id == cid)
    landed_together(twice(app, getattr(world, role), f"/complaints/{cid}", f"/complaints/{cid}/{action}", **typed))
    assert count(app, ComplaintEvent, ComplaintEvent.complaint_id == cid) == rounds + 1
    with app.app_context():
        complaint = db.session.get(Complaint, cid)
        assert complaint.round == (2 if action == "reject" else 1)


def test_a_finding_turned_into_a_fault_report_twice_at_once_makes_one(app, world):
    visit, row = world.visit_a.id, world.visit_row_a.id
    landed_together(twice(app, world.agent, f"/inspections/{visit}", f"/units/{row}/ticket", severity="B"))
    with app.app_context():
        ticket_id = db.session.get(VisitUnit, row).ticket_id
    assert ticket_id is not None
    assert count(app, Ticket, Ticket.equipment_id == world.visit_row_a.equipment_id, Ticket.channel == "on_site") == 1


def test_a_service_log_entry_sent_twice_at_once_is_saved_once(app, world):
    landed_together(
        twice(
            app,
            world.agent,
            "/inspections/log/new",
            "",
            contract=world.contract_a.id,
            site=world.a_site1.id,
            work_date="2026-11-20",
            engineers="王工",
            headcount="2",
            time_in="09:00",
            time_out="17:00",
            place="机房",
            work_done="双击提交的日志",
        )
    )
    assert count(app, ServiceLog, ServiceLog.work_done == "双击提交的日志") == 1


def test_sent_again_later_it_lands_on_the_first_result(app, world):
    """A retry after a network error or a reload: the same form, sent again after the first one finished."""
    staff = app.test_client(user=world.a_staff)
    fields = {
        **form(staff.get(f"/tickets/new?unit={world.unit_a1.id}"), "/tickets/new"),
        "severity": "C",
        "title": "重发的故障",
        "description": "x",
        "contact_name": "张",
        "contact_phone": "1",
    }
    first = staff.post("/tickets/new", data=fields)
    again = staff.post("/tickets/new?lang=en", data=fields, follow_redirects=True)
    assert first.status_code == 302 and again.status_code == 200
    assert again.request.path == first.headers["Location"]
    assert "this form had already been sent, and it counts once" in again.get_data(as_text=True)
    assert count(app, Ticket, Ticket.title == "重发的故障") == 1
    assert staff.get("/?lang=zh").status_code == 200
    again = staff.post("/tickets/new?lang=zh", data=fields, follow_redirects=True)
    assert "此表单之前已经提交过，只记录一次" in again.get_data(as_text=True)


@pytest.mark.parametrize("case", ["new spare part", "warranty extension"])
def test_a_view_that_names_no_result_still_lands_on_it(app, world, case):
    """Views that do not call ``land_on``: the page they redirected to is saved as the form's result after the
    commit, for a page with its own form (a new spare part) and for an address that only takes POST (a unit's
    warranty extension, from the unit's page)."""
    from portal.equipment.models import WarrantyExtension
    from portal.renewals.models import SparePart

    manager = app.test_client(user=world.manager)
    if case == "new spare part":
        page, action, typed, model = "/parts/new", "", {"name_zh": "遥控器", "unit_price": "80"}, SparePart
    else:
        page, action, model = f"/equipment/{world.unit_a1.id}", "/extensions", WarrantyExtension
        typed = {"days": "60", "reason": "双击的延保"}
    url, fields = post_form(manager.get(page), action)
    fields.update(typed)
    before = count(app, model)
    first = manager.post(url or page, data=fields, headers={"Referer": f"http://localhost{page}"})
    again = manager.post(url or page, data=fields, headers={"Referer": f"http://localhost{page}"})
    assert first.status_code == 302 and again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, model) == before + 1


def test_a_new_form_is_a_new_submission(app, world):
    """Two replies typed one after the other are two replies: each form shown carries a new token."""
    staff, ticket = app.test_client(user=world.a_staff), world.ticket_a.id
    for text in ("第一条回复", "第二条回复"):
        fields = {**form(staff.get(f"/tickets/{ticket}"), "/reply"), "body": text}
        assert staff.post(f"/tickets/{ticket}/reply", data=fields).status_code == 302
    assert count(app, TicketEvent, TicketEvent.action == "reply", TicketEvent.ticket_id == ticket) == 2


def test_a_refused_form_can_be_corrected_and_sent_with_its_token(app, world):
    """A form refused for a field error claimed nothing: corrected, the same form is saved."""
    staff = app.test_client(user=world.a_staff)
    fields = {
        **form(staff.get(f"/tickets/new?unit={world.unit_a1.id}"), "/tickets/new"),
        "severity": "C",
        "title": "",
        "description": "x",
        "contact_name": "张",
        "contact_phone": "1",
    }
    assert staff.post("/tickets/new", data=fields).status_code == 200  # the form again, with the error
    assert staff.post("/tickets/new", data={**fields, "title": "改正后的故障"}).status_code == 302
    assert count(app, Ticket, Ticket.title == "改正后的故障") == 1


def test_another_users_token_is_not_theirs_to_land_on(app, world):
    staff = app.test_client(user=world.a_staff)
    fields = {
        **form(staff.get(f"/tickets/new?unit={world.unit_a1.id}"), "/tickets/new"),
        "severity": "C",
        "title": "甲的故障",
        "description": "x",
        "contact_name": "张",
        "contact_phone": "1",
    }
    assert staff.post("/tickets/new", data=fields).status_code == 302
    other = app.test_client(user=world.b_staff)
    response = other.post("/tickets/new", data={**fields, "site": world.b_site.id})
    assert response.status_code == 400
    assert "/tickets/" not in response.headers.get("Location", "")
    assert count(app, Ticket, Ticket.title == "甲的故障") == 1


def test_every_form_a_user_can_send_carries_a_one_time_token(app, world):
    """The pages with the forms of the steps above: each POST form holds a token, a new one each time."""
    pages = [
        (world.a_staff, f"/tickets/new?unit={world.unit_a1.id}", "/tickets/new"),
        (world.agent, f"/tickets/{world.ticket_a.id}", "/respond"),
        (world.a_admin, f"/renewals/request?unit={world.unit_a1.id}", ""),
        (world.a_school, "/complaints/new", ""),
        (world.agent, f"/inspections/{world.visit_a.id}", "/ticket"),
        (world.a_school, f"/inspections/{world.visit_a.id}", "/sign"),
        (world.a_school, "/inspections/log?month=" + world.log_a.work_date.strftime("%Y-%m"), "/sign"),
        (world.agent, "/inspections/log/new", ""),
        (world.sysadmin, f"/users/{world.a_staff.id}", "/invite"),
    ]
    for user, page, action in pages:
        client = app.test_client(user=user)
        tokens = {form(client.get(page), action).get("form_token") for _ in range(2)}
        assert None not in tokens and len(tokens) == 2, (page, action)


def test_old_tokens_are_forgotten_by_the_sweep(app, world):
    from portal.sweeps import run
    from portal.types import utcnow

    with app.app_context():
        db.session.add_all(
            [
                Submission(token="a" * 32, user_id=world.a_staff.id, at=utcnow() - timedelta(days=31)),
                Submission(token="b" * 32, user_id=world.a_staff.id, at=utcnow() - timedelta(days=1)),
            ]
        )
        db.session.commit()
        assert run()["forms_forgotten"] == 1
        assert db.session.scalars(sa.select(Submission.token)).all() == ["b" * 32]


# ---------------------------------------------------------------- two people, one object, one state


def two_people(app, first_user, second_user, page, first, second):
    """Two people open the same page, then each sends a form from it (``(action, typed)``) at the same moment."""
    a, b = app.test_client(user=first_user), app.test_client(user=second_user)
    url_a, fields_a = post_form(a.get(page), first[0])
    url_b, fields_b = post_form(b.get(page), second[0])
    fields_a.update(first[1])
    fields_b.update(second[1])
    return answers(at_once(lambda: a.post(url_a, data=fields_a), lambda: b.post(url_b, data=fields_b)))


def one_won(responses):
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 302 and codes[1] in (400, 409), codes
    loser = next(r for r in responses if r.status_code != 302)
    return loser.get_data(as_text=True)


def test_accept_and_decline_at_once_end_in_one_state(app, world):
    quote = issued_quote(app, world)
    second_admin = Factory(app).user("client_admin", client=world.a, email="admin2@a.example")
    loser = one_won(
        two_people(
            app,
            world.a_admin,
            second_admin,
            f"/renewals/{quote}",
            (f"/renewals/{quote}/accept", {}),
            (f"/renewals/{quote}/decline", {"reason": "预算不足，第二个人写的理由"}),
        )
    )
    with app.app_context():
        status = db.session.get(RenewalQuote, quote).status
        covered = db.session.scalar(sa.select(sa.func.count()).where(RenewalCoverage.quote_id == quote))
        decisions = db.session.scalars(
            sa.select(QuoteEvent.action).where(
                QuoteEvent.quote_id == quote, QuoteEvent.action.in_(["accepted", "declined"])
            )
        ).all()
    assert (status, covered) in (("accepted", 1), ("declined", 0))
    assert decisions == [status]
    if status == "accepted":  # the decline lost: told why, its reason kept to copy
        assert "预算不足，第二个人写的理由" in loser


def test_close_and_reject_at_once_end_in_one_state(app, world):
    cid = complaint_at(app, world, "answered")
    loser = one_won(
        two_people(
            app,
            world.a_school,
            world.a_admin,
            f"/complaints/{cid}",
            (f"/complaints/{cid}/close", {"rating": "4"}),
            (f"/complaints/{cid}/reject", {"body": "同事认为没有解决"}),
        )
    )
    with app.app_context():
        complaint = db.session.get(Complaint, cid)
        state = (complaint.status, complaint.is_open, complaint.round)
    assert state in (("closed", False, 1), ("reopened", True, 2))
    if state[0] == "closed":
        assert "同事认为没有解决" in loser  # kept, although the step is gone


def test_sign_and_dispute_at_once_end_in_one_state(app, world):
    visit = world.visit_a.id
    loser = one_won(
        two_people(
            app,
            world.a_school,
            world.a_admin,
            f"/inspections/{visit}",
            (f"/inspections/{visit}/sign", {"name": "李校长", "satisfaction": "5"}),
            (f"/inspections/{visit}/dispute", {"reason": "记录漏了一台设备"}),
        )
    )
    with app.app_context():
        row = db.session.get(Visit, visit)
        state = (row.status, bool(row.signed_at), bool(row.disputed_at))
    assert state in (("signed", True, False), ("disputed", False, True))
    if state[0] == "signed":
        assert "记录漏了一台设备" in loser


def test_a_record_amended_after_the_client_opened_it_cannot_be_signed_unseen(app, world):
    visit = world.visit_a.id
    school, agent = app.test_client(user=world.a_school), app.test_client(user=world.agent)
    read = form(school.get(f"/inspections/{visit}"), "/sign")
    amend = form(agent.get(f"/inspections/{visit}/record"), "")
    amend.update(engineers="王工, 李工", hardware="更正：3 号机风扇异响")
    assert agent.post(f"/inspections/{visit}/record", data=amend).status_code == 302
    response = school.post(
        f"/inspections/{visit}/sign?lang=en",
        data={**read, "name": "李校长", "satisfaction": "5", "comment": "我看过的版本"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this since you opened it" in page and "我看过的版本" in page
    assert "更正：3 号机风扇异响" in page  # the record as it is now
    with app.app_context():
        assert db.session.get(Visit, visit).status == "done"


def test_two_engineers_responding_at_once_one_is_told(app, world):
    ticket = world.ticket_a.id
    loser = one_won(
        two_people(
            app,
            world.agent,
            world.manager,
            f"/tickets/{ticket}",
            (f"/tickets/{ticket}/respond", {"body": "第一位"}),
            (f"/tickets/{ticket}/respond", {"body": "第二位"}),
        )
    )
    assert count(app, TicketEvent, TicketEvent.ticket_id == ticket, TicketEvent.action == "responded") == 1
    assert "第一位" in loser or "第二位" in loser


def test_two_service_log_signatures_at_once_one_is_kept(app, world):
    log = world.log_a
    month = log.work_date.strftime("%Y-%m")
    page = f"/inspections/log?month={month}"
    second = Factory(app).user("client_staff", client=world.a, email="staff2@a.example")
    responses = two_people(
        app,
        world.a_staff,
        second,
        page,
        (f"/log/{log.id}/sign", {"name": "第一位签字人"}),
        (f"/log/{log.id}/sign", {"name": "第二位签字人"}),
    )
    assert all(r.status_code == 302 for r in responses)  # both go back to the month; one is told it was signed
    with app.app_context():
        entry = db.session.get(ServiceLog, log.id)
        assert entry.signed_name in ("第一位签字人", "第二位签字人") and entry.version == 2


def test_every_post_form_on_every_page_counts_once(app, world):
    """The whole class: every page each role can open, every form on it that posts, carries a one-time token.
    Two forms send no token on purpose: signing out, and making a calendar address (shown once on the answer
    itself; sent twice, the second address is the one that works, and it is the one shown)."""
    from .pages import _Forms
    from .test_access import PROTECTED, url_of

    missing = []
    for name, route in sorted(PROTECTED.items()):
        if route.method != "GET" or name == "inspections.calendar_settings":
            continue
        for role in route.roles:
            page = app.test_client(user=world.by_role()[role]).get(url_of(world, route, role))
            if page.status_code != 200 or "html" not in page.content_type:
                continue
            parser = _Forms()
            parser.feed(page.get_data(as_text=True))
            for found in parser.forms:
                token = next((v for k, v in found["fields"].items() if k.split("-")[-1] == "form_token"), "")
                if found["method"] == "post" and found["action"] != "/logout" and not TOKEN.fullmatch(token):
                    missing.append((name, role.value, found["action"]))
    assert missing == [], sorted(set(missing))

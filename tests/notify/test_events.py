"""Each step that tells someone: who is told (and who never is: another school, another client, a deactivated
account, the one who took the step), the message in both languages, and the link to the object."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.auth.models import User
from portal.extensions import db
from portal.notify import services as notify
from portal.notify.models import Delivery, Notification, Robot

VENDOR_EMAILS = {"manager@test.example", "agent@test.example"}


def told(app, kind, subject_id=None):
    """{e-mail: notification} of one kind (about one object)."""
    with app.app_context():
        query = sa.select(Notification).where(Notification.kind == kind)
        if subject_id is not None:
            query = query.where(Notification.subject_id == subject_id)
        notes = db.session.scalars(query).all()
        out = {note.user.email: note for note in notes}
        db.session.expunge_all()
        return out


def text(app, note, locale):
    """The notification's message and link as its user reads them in ``locale``."""
    with app.test_request_context():
        user = db.session.get(User, note.user_id)
        user.locale = locale
        with notify.reader(user):
            result = notify.message(note.kind, note.params), notify.link(note.subject_type, note.subject_id)
        db.session.rollback()
        return result


def deactivate(make, app, user):
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()


def robot(make, client=None, kinds="ticket.filed,complaint.filed"):
    return make.save(
        Robot(
            name="group",
            platform="wecom",
            webhook_url="http://127.0.0.1:9/hook",
            kinds=kinds,
            client_id=client.id if client else None,
        )
    )


def robot_posts(app, kind):
    with app.app_context():
        return sorted(
            d.robot_id
            for d in db.session.scalars(
                sa.select(Delivery).where(Delivery.kind == kind, Delivery.robot_id.is_not(None))
            )
        )


# ---------------------------------------------------------------- faults


def test_a_filed_fault_tells_the_vendor_staff_only(app, world, make):
    filed = told(app, "ticket.filed", world.ticket_a.id)
    assert set(filed) == VENDOR_EMAILS  # not the client's users, not the reporter
    message, link = text(app, filed["agent@test.example"], "zh_Hans_CN")
    assert message == f"新故障 {world.ticket_a.number}（B 级），甲一中：屏幕不亮"
    assert link == f"/tickets/{world.ticket_a.id}"
    message, _ = text(app, filed["agent@test.example"], "en")
    assert message == f"Fault {world.ticket_a.number} filed (severity B) at A School 1: 屏幕不亮"


def test_a_fault_the_vendor_files_does_not_tell_its_filer_and_a_deactivated_agent_nothing(app, world, make):
    idle = make.user("vendor_agent", email="idle@test.example")
    deactivate(make, app, idle)
    ticket = make.ticket(world.agent, world.a_site1, channel="phone")
    assert set(told(app, "ticket.filed", ticket.id)) == {"manager@test.example"}


def test_severe_faults_go_to_the_vendor_group_and_the_clients_own_group(app, world, make):
    vendor_group, a_group, b_group = robot(make), robot(make, world.a), robot(make, world.b)
    quiet = robot(make, kinds="complaint.filed")
    app_posts = robot_posts(app, "ticket.filed")  # the world's own: a failed message to its switched-off robot
    make.ticket(world.a_staff, world.a_site1, severity="C")
    assert robot_posts(app, "ticket.filed") == app_posts  # C is not posted
    severe = make.ticket(world.a_staff, world.a_site1, severity="A")
    assert robot_posts(app, "ticket.filed") == sorted([*app_posts, vendor_group.id, a_group.id])
    assert b_group.id not in robot_posts(app, "ticket.filed") and quiet.id not in robot_posts(app, "ticket.filed")
    assert set(told(app, "ticket.filed", severe.id)) == VENDOR_EMAILS


def act(client, ticket, action, **data):
    response = client.post(f"/tickets/{ticket.id}/{action}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


@pytest.mark.parametrize(
    "kind, steps, words",
    [
        ("ticket.responded", [("respond", {"body": "先重启试试"})], ("the vendor responded", "已响应")),
        (
            "ticket.proposal",
            [("respond", {"body": "a"}), ("propose", {"body": "更换主板"})],
            ("a solution is proposed", "解决方案"),
        ),
        ("ticket.on_site", [("respond", {"body": "a"}), ("arrive", {})], ("the engineer is on site", "工程师已到场")),
        (
            "ticket.waiting",
            [("respond", {"body": "a"}), ("wait", {"body": "请开放机房"})],
            ("is waiting for you: 请开放机房", "请开放机房"),
        ),
        (
            "ticket.spare_lent",
            [("respond", {"body": "a"}), ("loan", {"spare": "备机 SN-9"})],
            ("a spare unit is lent (备机 SN-9)", "备机 SN-9"),
        ),
        (
            "ticket.resolved",
            [
                ("respond", {"body": "a"}),
                ("resolve", {"problem_kind": "hardware", "cause": "主板", "solution": "更换主板"}),
            ],
            ("is resolved", "已解决"),
        ),
    ],
)
def test_each_step_of_the_vendor_tells_the_reporter_only(app, world, kind, steps, words):
    agent = app.test_client(user=world.agent)
    for action, data in steps:
        act(agent, world.ticket_a, action, **data)
    notes = told(app, kind, world.ticket_a.id)
    assert set(notes) == {"school@a.example"}  # the reporter: not the agent, nor the school next door, nor B
    english, link = text(app, notes["school@a.example"], "en")
    chinese, _ = text(app, notes["school@a.example"], "zh_Hans_CN")
    assert world.ticket_a.number in english and words[0] in english
    assert world.ticket_a.number in chinese and words[1] in chinese
    assert link == f"/tickets/{world.ticket_a.id}"


def test_a_deactivated_reporter_is_not_told(app, world, make):
    deactivate(make, app, world.a_school)
    act(app.test_client(user=world.agent), world.ticket_a, "respond", body="a")
    assert told(app, "ticket.responded") == {}


def forget(app):
    with app.app_context():
        db.session.execute(sa.delete(Delivery))
        db.session.execute(sa.delete(Notification))
        db.session.commit()


def test_replies_go_to_the_other_side(app, world, make):
    forget(app)  # the world's own notifications
    school, agent = app.test_client(user=world.a_school), app.test_client(user=world.agent)
    act(school, world.ticket_a, "reply", body="还是不亮")
    first = told(app, "ticket.reply", world.ticket_a.id)
    assert set(first) == VENDOR_EMAILS  # no one assigned yet: the vendor's staff
    assert text(app, first["agent@test.example"], "en")[0] == (
        f"Fault {world.ticket_a.number}: a reply from {world.a_school.name}"
    )
    act(agent, world.ticket_a, "respond", body="a")  # the agent is now the assignee
    act(agent, world.ticket_a, "reply", body="马上到")
    notes = told(app, "ticket.reply", world.ticket_a.id)
    assert set(notes) == VENDOR_EMAILS | {"school@a.example"}
    assert text(app, notes["school@a.example"], "zh_Hans_CN")[0] == (
        f"故障 {world.ticket_a.number}：{world.agent.name} 回复了"
    )
    forget(app)
    act(school, world.ticket_a, "reply", body="好的")
    assert set(told(app, "ticket.reply", world.ticket_a.id)) == {"agent@test.example"}  # the assignee only


# ---------------------------------------------------------------- complaints


def test_a_filed_complaint_tells_the_managers_and_the_groups(app, world, make):
    group = robot(make)
    other = make.user("vendor_manager", email="gone@test.example")
    deactivate(make, app, other)
    complaint = make.complaint(world.a_staff, world.a_site1, category="attitude")
    notes = told(app, "complaint.filed", complaint.id)
    assert set(notes) == {"manager@test.example"}  # not the agents, not a deactivated manager
    assert text(app, notes["manager@test.example"], "en") == (
        f"Complaint {complaint.number} filed: Attitude",
        f"/complaints/{complaint.id}",
    )
    assert text(app, notes["manager@test.example"], "zh_Hans_CN")[0] == f"投诉 {complaint.number} 已提交：服务态度"
    assert group.id in robot_posts(app, "complaint.filed")


def test_routing_tells_the_handler_and_the_answer_the_complainant(app, world):
    manager, agent = app.test_client(user=world.manager), app.test_client(user=world.agent)
    cid = world.complaint_a.id
    assert manager.post(f"/complaints/{cid}/assign", data={"handler": world.agent.id}).status_code == 302
    routed = told(app, "complaint.routed", cid)
    assert set(routed) == {"agent@test.example"}
    english = text(app, routed["agent@test.example"], "en")[0]
    assert english.startswith(f"Complaint {world.complaint_a.number} is routed to you: answer by ")
    assert agent.post(f"/complaints/{cid}/answer", data={"body": "已处理"}).status_code == 302
    answered = told(app, "complaint.answered", cid)
    assert set(answered) == {"school@a.example"}  # the complainant; not the admin, not the agent who answered
    assert text(app, answered["school@a.example"], "zh_Hans_CN")[0] == (
        f"投诉 {world.complaint_a.number} 已答复：您满意吗？"
    )


def test_a_manager_routing_to_themselves_is_not_told(app, world):
    manager = app.test_client(user=world.manager)
    assert (
        manager.post(f"/complaints/{world.complaint_a.id}/assign", data={"handler": world.manager.id}).status_code
        == 302
    )
    assert told(app, "complaint.routed") == {}


# ---------------------------------------------------------------- quotes


def test_an_issued_quote_tells_the_clients_admins_only(app, world, make):
    make.user("client_admin", client=world.a, email="old@a.example")
    deactivate(make, app, make.user("client_admin", client=world.a, email="gone@a.example"))
    manager = app.test_client(user=world.manager)
    valid = (date.today() + timedelta(days=30)).isoformat()
    response = manager.post(f"/renewals/{world.quote_a.id}/issue", data={"valid_until": valid})
    assert response.status_code == 302
    notes = told(app, "quote.issued", world.quote_a.id)
    assert set(notes) == {"admin@a.example", "old@a.example"}  # not A's staff, not B, not the deactivated one
    english, link = text(app, notes["admin@a.example"], "en")
    assert english.startswith(f"Quote {world.quote_a.number} is issued: CN¥")
    assert link == f"/renewals/{world.quote_a.id}"
    assert "有效期至" in text(app, notes["admin@a.example"], "zh_Hans_CN")[0]


def test_an_answered_quote_tells_the_managers(app, world):
    manager, admin = app.test_client(user=world.manager), app.test_client(user=world.a_admin)
    valid = (date.today() + timedelta(days=30)).isoformat()
    assert manager.post(f"/renewals/{world.quote_a.id}/issue", data={"valid_until": valid}).status_code == 302
    assert admin.post(f"/renewals/{world.quote_a.id}/decline", data={"reason": "预算不足"}).status_code == 302
    notes = told(app, "quote.declined", world.quote_a.id)
    assert set(notes) == {"manager@test.example"}
    assert text(app, notes["manager@test.example"], "en")[0] == (
        f"Quote {world.quote_a.number} is declined by Bureau A: 预算不足"
    )
    assert text(app, notes["manager@test.example"], "zh_Hans_CN")[0] == (
        f"报价 {world.quote_a.number} 被甲教育局拒绝：预算不足"
    )


def test_an_accepted_quote_tells_the_managers(app, world):
    manager, admin = app.test_client(user=world.manager), app.test_client(user=world.a_admin)
    valid = (date.today() + timedelta(days=30)).isoformat()
    assert manager.post(f"/renewals/{world.quote_a.id}/issue", data={"valid_until": valid}).status_code == 302
    assert admin.post(f"/renewals/{world.quote_a.id}/accept", data={}).status_code == 302
    notes = told(app, "quote.accepted", world.quote_a.id)
    assert set(notes) == {"manager@test.example"}
    assert text(app, notes["manager@test.example"], "zh_Hans_CN")[0] == f"报价 {world.quote_a.number} 已被甲教育局接受"


# ---------------------------------------------------------------- visits and the service log


def test_a_recorded_visit_tells_its_schools_administrator_only(app, world, make):
    notes = told(app, "visit.signoff", world.visit_a.id)
    assert set(notes) == {"school@a.example"}  # not the school next door, not B, not the client admin
    assert text(app, notes["school@a.example"], "en") == (
        "Preventive inspection at A School 1 is recorded and waits for your sign-off",
        f"/inspections/{world.visit_a.id}",
    )
    assert text(app, notes["school@a.example"], "zh_Hans_CN")[0] == "预防性巡检（甲一中）已记录，等待您签字确认"
    assert set(told(app, "visit.signoff", world.visit_a2.id)) == {"school2@a.example"}
    assert set(told(app, "visit.signoff", world.visit_b.id)) == set()  # B has no school administrator


def test_a_visit_to_the_whole_client_tells_its_administrators(app, world, make):
    visit = make.visit(world.contract_a, None, kind="phone_visit", recorded_by=world.agent)
    notes = told(app, "visit.signoff", visit.id)
    assert set(notes) == {"admin@a.example"}
    assert text(app, notes["admin@a.example"], "en")[0] == (
        "Phone visit at Bureau A is recorded and waits for your sign-off"
    )


def test_a_day_in_the_service_log_tells_the_clients_administrators(app, world):
    agent = app.test_client(user=world.agent)
    response = agent.post(
        "/inspections/log/new",
        data={
            "contract": world.contract_b.id,
            "site": world.b_site.id,
            "work_date": "2026-03-02",
            "engineers": "刘工",
            "headcount": 1,
            "time_in": "08:30",
            "time_out": "17:30",
            "place": "机房",
            "work_done": "巡视",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    notes = told(app, "log.signature")
    assert set(notes) == {"admin@b.example"}  # B's; A's administrator hears nothing of B
    english, link = text(app, notes["admin@b.example"], "en")
    assert english == "The service log of Mar 2, 2026 (刘工) waits for your signature" and link == "/inspections/log"
    assert text(app, notes["admin@b.example"], "zh_Hans_CN")[0] == "2026年3月2日的驻场运维记录（刘工）等待您签字"


def test_nothing_is_told_about_a_step_that_is_rolled_back(app, world):
    agent = app.test_client(user=world.agent)
    response = agent.post(
        f"/tickets/{world.ticket_a.id}/resolve", data={"problem_kind": "hardware", "cause": "x", "solution": "y"}
    )  # a new ticket cannot be resolved
    assert response.status_code in (400, 409)
    assert told(app, "ticket.resolved") == {}

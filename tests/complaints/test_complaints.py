"""Complaints: the rounds until the client is satisfied, who may take each step, due times and overdue flags,
scoping, filing checks, and the ledger with its export."""

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.complaints import services
from portal.complaints.models import Complaint, ComplaintEvent
from portal.complaints.views import ACTIONS
from portal.extensions import db
from portal.roles import CLIENT, Role
from portal.types import utcnow


def get(app, complaint_id):
    with app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        db.session.expunge_all()
        return complaint


def events(app, complaint_id):
    with app.app_context():
        return [
            (e.round, e.action)
            for e in db.session.scalars(
                sa.select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint_id)
                .order_by(ComplaintEvent.at, ComplaintEvent.id)
            )
        ]


def test_rounds_until_the_client_is_satisfied(app, world):
    admin, manager, agent = (app.test_client(user=u) for u in (world.a_admin, world.manager, world.agent))
    response = admin.post(
        "/complaints/new",
        data={"category": "repair_quality", "description": "修了三次还是坏", "ticket": world.ticket_a.id},
    )
    assert response.status_code == 302
    cid = int(response.headers["Location"].rsplit("/", 1)[1])
    complaint = get(app, cid)
    assert complaint.number.startswith("TS-") and complaint.status == "new" and complaint.round == 1
    assert complaint.site_id == world.a_site1.id  # the fault report's site
    assert complaint.due_at - complaint.received_at == timedelta(hours=24)
    assert manager.post(f"/complaints/{cid}/assign", data={"handler": world.agent.id}).status_code == 302
    assert agent.post(f"/complaints/{cid}/answer", data={"body": "已安排更换主板"}).status_code == 302
    assert get(app, cid).status == "answered" and get(app, cid).due_at is None
    assert admin.post(f"/complaints/{cid}/reject", data={"body": "仍未解决"}).status_code == 302
    complaint = get(app, cid)
    assert complaint.status == "reopened" and complaint.round == 2 and complaint.handler_id is None
    assert complaint.due_at is not None and complaint.is_open
    assert manager.post(f"/complaints/{cid}/assign", data={"handler": world.agent.id}).status_code == 302
    assert agent.post(f"/complaints/{cid}/answer", data={"body": "已整机更换"}).status_code == 302
    assert admin.post(f"/complaints/{cid}/close", data={"rating": 4, "body": "满意"}).status_code == 302
    complaint = get(app, cid)
    assert complaint.status == "closed" and not complaint.is_open and complaint.rating == 4 and complaint.closed_at
    assert events(app, cid) == [
        (1, "filed"),
        (1, "assigned"),
        (1, "answered"),
        (1, "rejected"),
        (2, "assigned"),
        (2, "answered"),
        (2, "closed"),
    ]
    page = admin.get(f"/complaints/{cid}?lang=en").get_data(as_text=True)
    assert "Closed by the client, satisfied." in page and "仍未解决" in page and "Round 2" in page


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_step_is_for_its_roles_only(app, world, action):
    for role, user in world.by_role().items():
        response = app.test_client(user=user).post(f"/complaints/{world.complaint_a.id}/{action}", data={})
        if role in ACTIONS[action].roles:
            assert response.status_code in (200, 302, 400), (role, response.status_code)
        else:
            assert response.status_code == 403, role
    for role in ACTIONS[action].roles & CLIENT:
        foreign = world.complaint_a2 if role == Role.SITE_ADMIN else world.complaint_b
        user = world.by_role()[role]
        assert app.test_client(user=user).post(f"/complaints/{foreign.id}/{action}", data={}).status_code == 404


def test_only_the_handler_or_the_manager_answers_and_only_the_client_closes(app, world):
    manager, agent = app.test_client(user=world.manager), app.test_client(user=world.agent)
    cid = world.complaint_a.id
    admin = app.test_client(user=world.a_admin)
    admin.get("/?lang=en")
    assert "that step is not possible" in admin.post(f"/complaints/{cid}/close", data={"rating": 5}).get_data(
        as_text=True
    )  # nothing answered yet
    manager.post(f"/complaints/{cid}/assign", data={"handler": world.manager.id})
    agent.get("/?lang=en")
    response = agent.post(f"/complaints/{cid}/answer", data={"body": "x"})
    assert response.status_code == 400 and "Only the assigned handler" in response.get_data(as_text=True)
    assert manager.post(f"/complaints/{cid}/answer", data={"body": "经理答复"}).status_code == 302
    assert manager.post(f"/complaints/{cid}/close", data={"rating": 5}).status_code == 403
    assert manager.post(f"/complaints/{cid}/assign", data={"handler": world.a_admin.id}).status_code == 400


def test_a_reason_and_a_rating_are_required(app, world):
    manager = app.test_client(user=world.manager)
    manager.post(f"/complaints/{world.complaint_a.id}/assign", data={"handler": world.manager.id})
    manager.post(f"/complaints/{world.complaint_a.id}/answer", data={"body": "答复"})
    school = app.test_client(user=world.a_school)
    school.get("/?lang=en")
    assert "Say why the answer does not satisfy you." in school.post(
        f"/complaints/{world.complaint_a.id}/reject", data={"body": ""}
    ).get_data(as_text=True)
    assert "Choose a rating from 1 to 5." in school.post(f"/complaints/{world.complaint_a.id}/close", data={}).get_data(
        as_text=True
    )
    assert get(app, world.complaint_a.id).status == "answered"


def test_due_times_and_overdue_flags(app, world, make):
    app.config["COMPLAINT_ANSWER_HOURS"] = 4
    late = make.complaint(world.a_staff, world.a_site1, now=utcnow() - timedelta(hours=5))
    assert late.due_at - late.received_at == timedelta(hours=4)
    manager = app.test_client(user=world.manager)
    overdue = manager.get("/complaints/?state=overdue").get_data(as_text=True)
    assert late.number in overdue and world.complaint_a.number not in overdue
    home = manager.get("/?lang=en").get_data(as_text=True)
    assert "Awaiting an answer" in home and "Overdue" in home
    with app.app_context():
        from portal.auth.models import User
        from portal.complaints.views import awaiting

        assert awaiting(db.session.get(User, world.manager.id), utcnow()) == {"open": 4, "awaiting": 4, "overdue": 1}
        assert awaiting(db.session.get(User, world.b_staff.id), utcnow())["open"] == 1
    manager.post(f"/complaints/{late.id}/assign", data={"handler": world.manager.id})
    manager.post(f"/complaints/{late.id}/answer", data={"body": "迟到的答复"})
    answered = get(app, late.id)
    assert answered.overdue_rounds == 1 and answered.due_at is None
    assert (1, "late") in events(app, late.id)


def test_scoping_of_lists_and_the_ledger(app, world):
    def numbers(user, url):
        import re

        return set(re.findall(r"TS-\d{4}-\d{4}", app.test_client(user=user).get(url).get_data(as_text=True)))

    a, a2, b = world.complaint_a.number, world.complaint_a2.number, world.complaint_b.number
    assert numbers(world.manager, "/complaints/") == {a, a2, b}
    assert numbers(world.a_admin, "/complaints/") == {a, a2}
    assert numbers(world.a_school, "/complaints/") == {a}
    assert numbers(world.b_staff, "/complaints/") == {b}
    assert numbers(world.manager, "/complaints/ledger") == {a, a2, b}
    assert numbers(world.a_admin, "/complaints/ledger") == {a, a2}
    assert numbers(world.a_admin, f"/complaints/ledger?client={world.b.id}") == {a, a2}
    assert app.test_client(user=world.a_staff).get("/complaints/ledger").status_code == 403


def test_filing_checks(app, world):
    client = app.test_client(user=world.a_staff)
    page = client.post("/complaints/new?lang=en", data={"description": "我写的投诉"}).get_data(as_text=True)
    assert "Choose what the complaint is about." in page and "我写的投诉" in page
    with_file = {"description": "我写的投诉", "attachments": [(io.BytesIO(b"%PDF-1.4 x"), "a.pdf")]}
    page = client.post("/complaints/new?lang=en", data=with_file, content_type="multipart/form-data").get_data(
        as_text=True
    )
    assert "Choose the photos again" in page  # the file is not kept, and the form says so
    assert (
        client.post(
            "/complaints/new", data={"category": "other", "description": "x", "ticket": world.ticket_b.id}
        ).status_code
        == 404
    )
    fake = {
        "category": "other",
        "description": "x",
        "attachments": [(io.BytesIO(b"MZ\x90\x00 not a pdf"), "invoice.pdf")],
    }
    page = client.post("/complaints/new?lang=en", data=fake, content_type="multipart/form-data").get_data(as_text=True)
    assert "“invoice.pdf” is not a real PDF file: its content does not match its name." in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Complaint.id))) == 3


@pytest.mark.parametrize(("lang", "header"), [("zh", "投诉内容"), ("en", "Content")])
def test_the_ledger_export_in_the_readers_language(app, world, lang, header):
    manager, agent, school = (app.test_client(user=u) for u in (world.manager, world.agent, world.a_school))
    cid = world.complaint_a.id
    manager.post(f"/complaints/{cid}/assign", data={"handler": world.agent.id})
    agent.post(f"/complaints/{cid}/answer", data={"body": "第一轮答复"})
    school.post(f"/complaints/{cid}/reject", data={"body": "不满意的理由"})
    response = manager.get(f"/complaints/ledger.xlsx?lang={lang}")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert header in rows[0] and len(rows) == 4
    row = next(r for r in rows if r[0] == world.complaint_a.number)
    assert "第一轮答复" in row[9] and "不满意的理由" in row[9] and row[8] == 2
    # The period filter: nothing received tomorrow.
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    empty = manager.get(f"/complaints/ledger.xlsx?start={tomorrow}")
    assert len(list(load_workbook(io.BytesIO(empty.data)).active.iter_rows(values_only=True))) == 1
    # A client admin's export holds their own client's complaints only.
    own = app.test_client(user=world.a_admin).get("/complaints/ledger.xlsx")
    numbers = {r[0] for r in list(load_workbook(io.BytesIO(own.data)).active.iter_rows(values_only=True))[1:]}
    assert numbers == {world.complaint_a.number, world.complaint_a2.number}


def test_the_list_answers_with_bounded_queries(app, world, make, count_queries):
    manager = app.test_client(user=world.manager)
    counts = []
    for url in ("/complaints/", "/complaints/ledger"):
        with count_queries() as few:
            manager.get(url)
        for _ in range(15):
            make.complaint(world.a_staff, world.a_site1)
        with count_queries() as many:
            assert manager.get(url).status_code == 200
        counts.append((few.count, many.count))
    assert all(few == many for few, many in counts), counts


def test_services_refuse_moves_out_of_order(app, world):
    with app.app_context():
        from portal.auth.models import User

        complaint = db.session.get(Complaint, world.complaint_a.id)
        client = db.session.get(User, world.a_admin.id)
        with pytest.raises(services.ComplaintRefused):
            services.reject(complaint, client, "x")
        with pytest.raises(services.ComplaintRefused):
            services.answer(complaint, db.session.get(User, world.manager.id), "x")
        db.session.rollback()


def test_lists_answer_a_fragment_to_htmx_and_a_page_otherwise(app, world):
    manager = app.test_client(user=world.manager)
    for url, marker in (
        ("/complaints/?state=new", "complaint-table"),
        ("/complaints/ledger?category=response_time", "ledger-table"),
    ):
        fragment = manager.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        page = manager.get(url).get_data(as_text=True)
        assert "<html" not in fragment and world.complaint_b.number in fragment
        assert "<html" in page and f'id="{marker}"' in page and world.complaint_b.number in page


def test_the_ledgers_date_filters_are_labelled_for_everyone(app, world):
    page = app.test_client(user=world.manager).get("/complaints/ledger?lang=en").get_data(as_text=True)
    for field, label in (("start", "Received from"), ("end", "Received until")):
        found = re.search(rf'<label class="([^"]*)" for="{field}">{label}</label>', page)
        assert found and "visually-hidden" not in found.group(1)  # a label people see, not only screen readers


def test_the_ledgers_numbers_stay_on_one_line(app, world):
    for lang in ("en", "zh"):
        page = app.test_client(user=world.manager).get(f"/complaints/ledger?lang={lang}").get_data(as_text=True)
        cells = re.findall(r'<td data-label="[^"]*" class="([^"]*)"><a href="/complaints/\d+">([^<]+)</a></td>', page)
        assert cells and all("text-nowrap" in classes.split() for classes, _ in cells)
        assert world.complaint_b.number in [number for _, number in cells]

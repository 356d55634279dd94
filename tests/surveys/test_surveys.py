"""The satisfaction survey by link: made once per closed fault and signed-off visit, answered once without signing
in, its token the key to its one survey, throttled per address, listed in each role's scope."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth.models import User
from portal.extensions import db
from portal.inspections import services as inspections
from portal.inspections.models import Visit
from portal.notify.models import Notification
from portal.surveys import services
from portal.surveys.models import Survey, SurveyThrottle
from portal.tickets import services as tickets
from portal.tickets.models import Ticket
from portal.types import utcnow

from ..conftest import at_once, make_app

LINK = re.compile(r"/survey/([A-Za-z0-9_-]{43})")


def resolve(ticket_id, agent_id):
    ticket = db.session.get(Ticket, ticket_id)
    agent = db.session.get(User, agent_id)
    tickets.respond(ticket, agent, "ok")
    tickets.resolve(ticket, agent, problem_kind="operation", cause="c", solution="s", loss="")
    db.session.commit()
    return ticket


def close(app, world, ticket=None, rating=5):
    """Resolve and confirm a ticket (the school's reporter confirms): its survey."""
    ticket_id = (ticket or world.ticket_a).id
    with app.app_context():
        ticket = resolve(ticket_id, world.agent.id)
        reporter = db.session.get(User, ticket.filed_by_id)
        tickets.confirm(ticket, reporter, rating, "好")
        db.session.commit()
        return db.session.scalar(sa.select(Survey).where(Survey.ticket_id == ticket_id))


def token_of(app, survey_id):
    with app.test_request_context():
        return services.token_of(db.session.get(Survey, survey_id))


def surveys(app):
    with app.app_context():
        return db.session.scalars(sa.select(Survey).order_by(Survey.id)).all()


def sign(app, world, visit, user=None):
    with app.app_context():
        visit = db.session.get(Visit, visit.id)
        user = db.session.get(User, (user or world.a_school).id)
        inspections.sign(visit, user, name="周敏", satisfaction=4, comment="")
        db.session.commit()


# ---------------------------------------------------------------- made when a fault closes or a visit is signed


def test_confirming_a_fault_makes_one_survey_for_its_reporter_in_their_language(app, world):
    with app.app_context():
        db.session.get(User, world.a_school.id).locale = "en"
        db.session.commit()
    before = utcnow().replace(microsecond=0)
    survey = close(app, world)
    assert survey is not None
    assert (survey.client_id, survey.site_id, survey.contract_id) == (world.a.id, world.a_site1.id, world.contract_a.id)
    assert survey.recipient_user_id == world.a_school.id and survey.language == "en"
    assert survey.expires_at - survey.created_at == timedelta(days=30) and survey.created_at >= before
    assert survey.answered_at is None and survey.rating is None
    # Only the digest of the token is kept, and it is the SHA-256 of the link's token.
    token = token_of(app, survey.id)
    assert len(token) == 43 and token not in survey.token_hash
    import hashlib

    assert survey.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # The reporter is told, with a link that opens this survey.
    with app.app_context():
        (note,) = db.session.scalars(sa.select(Notification).where(Notification.kind == "survey.invite")).all()
        assert (note.user_id, note.subject_type, note.subject_id) == (world.a_school.id, "survey", survey.id)
    page = app.test_client(user=world.a_school).get("/notifications/?lang=en").get_data(as_text=True)
    assert "Please rate our service for fault report " + world.ticket_a.number in page
    assert LINK.search(page).group(1) == token


def test_the_invitation_e_mail_is_in_the_readers_language_and_links_to_the_survey(app, world):
    from portal.notify import delivery
    from portal.notify.models import Delivery

    survey = close(app, world)  # the reporter's language is not set: Chinese
    with app.app_context():
        (row,) = db.session.scalars(sa.select(Delivery).where(Delivery.kind == "survey.invite")).all()
        mail = delivery._prepare(row.id)
        message = mail.__self__
        db.session.rollback()
    assert message.to == ["school@a.example"]
    assert message.subject.startswith("请为故障报修 " + world.ticket_a.number)
    assert "http://127.0.0.1:5000/survey/" + token_of(app, survey.id) in message.body


def test_the_7_day_sweep_makes_the_survey_too_and_a_second_close_makes_none(app, world):
    with app.app_context():
        resolve(world.ticket_a.id, world.agent.id)
    with app.app_context():
        assert tickets.close_unconfirmed(utcnow() + timedelta(days=7, minutes=1)) == 1
    (survey,) = surveys(app)
    assert survey.ticket_id == world.ticket_a.id and survey.recipient_user_id == world.a_school.id
    with app.app_context():  # the survey of a ticket is made once, whatever closes it again
        ticket = db.session.get(Ticket, world.ticket_a.id)
        assert services.for_ticket(ticket) is None
        db.session.commit()
    assert len(surveys(app)) == 1
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "survey.invite")
            )
            == 1
        )


def test_concurrent_closes_make_one_survey(shared, make):
    from tests.factories import World

    world = World(make.__class__(shared))
    with shared.app_context():
        resolve(world.ticket_a.id, world.agent.id)

    def make_one():
        with shared.app_context():
            ticket = db.session.get(Ticket, world.ticket_a.id)
            made = services.for_ticket(ticket)
            db.session.commit()
            return made is not None

    results = at_once(make_one, make_one, make_one)
    assert sorted(results) == [False, False, True], results
    with shared.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Survey)) == 1


def test_signing_a_visit_off_makes_one_survey_for_the_signer(app, world):
    with app.app_context():
        db.session.get(User, world.a_school.id).locale = "en"
        db.session.commit()
    sign(app, world, world.visit_a)
    (survey,) = surveys(app)
    assert (survey.visit_id, survey.ticket_id, survey.recipient_user_id) == (world.visit_a.id, None, world.a_school.id)
    assert survey.site_id == world.a_site1.id and survey.contract_id == world.contract_a.id
    assert survey.recipient_name == "周敏" and survey.language == "en"  # the school has no contact: who signed
    with app.app_context():
        visit = db.session.get(Visit, world.visit_a.id)
        (note,) = db.session.scalars(sa.select(Notification).where(Notification.kind == "survey.invite")).all()
        assert note.user_id == world.a_school.id
    notes = app.test_client(user=world.a_school).get("/notifications/").get_data(as_text=True)
    assert "Please rate our service for Preventive inspection of" in notes
    token = token_of(app, survey.id)
    assert LINK.search(notes).group(1) == token
    # The page names the visit, its date and the school, in the signer's language.
    page = app.test_client().get(f"/survey/{token}").get_data(as_text=True)
    assert "Preventive inspection" in page and "A School 1" in page and str(visit.done_on.year) in page
    with app.app_context():
        visit = db.session.get(Visit, world.visit_a.id)
        assert services.for_visit(visit, db.session.get(User, world.a_school.id)) is None
        db.session.commit()
    assert len(surveys(app)) == 1


# ---------------------------------------------------------------- the public page


def test_the_link_opens_a_phone_page_of_the_survey_only_and_is_answered_once(app, world):
    survey = close(app, world)
    token = token_of(app, survey.id)
    anonymous = app.test_client()
    page = anonymous.get(f"/survey/{token}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    body = page.get_data(as_text=True)
    assert world.ticket_a.number in body and "甲一中" in body and 'lang="zh-CN"' in body
    assert "portal-nav" not in body and "/tickets/" not in body and "/login" not in body  # nothing else of the portal
    for value in range(1, 6):
        assert f'value="{value}"' in body
    # A rating out of range, or none, is refused on the field; nothing is recorded.
    assert anonymous.post(f"/survey/{token}", data={"rating": "7"}).status_code == 400
    refused = anonymous.post(f"/survey/{token}", data={"comment": "x"})
    assert refused.status_code == 400 and "请选择 1 到 5 分的评分。" in refused.get_data(as_text=True)
    assert "x</textarea>" in refused.get_data(as_text=True)  # what was typed is kept
    assert surveys(app)[0].answered_at is None
    done = anonymous.post(f"/survey/{token}", data={"rating": "4", "comment": "工程师很耐心"})
    assert done.status_code == 303
    thanks = anonymous.get(done.headers["Location"]).get_data(as_text=True)
    assert "工程师很耐心" in thanks
    (answered,) = surveys(app)
    assert (answered.rating, answered.comment) == (4, "工程师很耐心") and answered.answered_at is not None
    # A second answer is refused, and the page says it was answered, with the answer given.
    again = anonymous.post(f"/survey/{token}", data={"rating": "1", "comment": "改主意"})
    assert again.status_code == 200
    text = again.get_data(as_text=True)
    assert "改主意" not in text and "工程师很耐心" in text
    assert surveys(app)[0].rating == 4
    en = anonymous.get(f"/survey/{token}?lang=en").get_data(as_text=True)
    assert "This survey has already been answered." in en and "4 of 5" in en


def test_a_signed_in_reporter_answers_through_the_link_too(app, world):
    survey = close(app, world)
    token = token_of(app, survey.id)
    reporter = app.test_client(user=world.a_school)
    page = reporter.get(f"/survey/{token}").get_data(as_text=True)
    assert "portal-nav" not in page  # the survey's own page, signed in or not
    form_token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"rating": "5", "comment": "好", "form_token": form_token}
    assert reporter.post(f"/survey/{token}", data=data).status_code == 303
    assert reporter.post(f"/survey/{token}", data=data).status_code == 303  # a double click counts once
    (answered,) = surveys(app)
    assert (answered.rating, answered.comment) == (5, "好")


def test_the_page_speaks_the_recipients_language(app, world):
    with app.app_context():
        db.session.get(User, world.a_school.id).locale = "en"
        db.session.commit()
    survey = close(app, world)
    body = app.test_client().get(f"/survey/{token_of(app, survey.id)}").get_data(as_text=True)
    assert 'lang="en"' in body and "How satisfied are you with our service?" in body
    body = app.test_client().get(f"/survey/{token_of(app, survey.id)}?lang=zh").get_data(as_text=True)
    assert 'lang="zh-CN"' in body


def test_a_readers_own_choice_of_language_wins_over_the_surveys(app, world):
    """A survey in Chinese opened by someone who chose English before (signed in with English as their language,
    or with the language cookie): English; with no choice made, the survey's language."""
    survey = close(app, world)  # the reporter's language is not set: Chinese
    token = token_of(app, survey.id)
    assert 'lang="zh-CN"' in app.test_client().get(f"/survey/{token}").get_data(as_text=True)
    with app.app_context():
        db.session.get(User, world.a_admin.id).locale = "en"
        db.session.commit()
    signed_in = app.test_client(user=world.a_admin).get(f"/survey/{token}").get_data(as_text=True)
    assert 'lang="en"' in signed_in and "How satisfied are you with our service?" in signed_in
    cookie = app.test_client()
    cookie.set_cookie("portal_lang", "en")
    assert 'lang="en"' in cookie.get(f"/survey/{token}").get_data(as_text=True)


def test_concurrent_answers_one_wins(shared, make):
    from tests.factories import World

    world = World(make.__class__(shared))
    survey = close(shared, world)
    token = token_of(shared, survey.id)

    def post(rating):
        def send():
            response = shared.test_client().post(f"/survey/{token}?lang=en", data={"rating": str(rating)})
            return response.status_code, response.get_data(as_text=True)

        return send

    results = at_once(post(5), post(1), post(3))
    assert [status for status, _ in results].count(303) == 1, [status for status, _ in results]
    # The others (waiting for the first on SQLite's write lock, or losing the conditional UPDATE on PostgreSQL)
    # are told it was answered, and shown the answer that counts.
    (answered,) = surveys(shared)
    for status, body in results:
        if status != 303:
            assert status in (200, 409) and "This survey has already been answered." in body
            assert f"{answered.rating} of 5" in body


def test_an_expired_link_says_so_and_takes_no_answer(app, world):
    survey = close(app, world)
    with app.app_context():
        row = db.session.get(Survey, survey.id)
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    token = token_of(app, survey.id)
    page = app.test_client().get(f"/survey/{token}?lang=en")
    assert page.status_code == 410 and "This survey link has expired." in page.get_data(as_text=True)
    assert app.test_client().post(f"/survey/{token}", data={"rating": "5"}).status_code == 410
    assert surveys(app)[0].answered_at is None
    with app.app_context():  # and the service refuses it too, whatever the page
        assert services.answer(db.session.get(Survey, survey.id), 5, "") is False


@pytest.mark.parametrize("bad", ["not-a-token", "A" * 43, "x" * 500, "%00"])
def test_an_unknown_or_tampered_token_is_a_404_in_the_surveys_own_layout(app, world, bad):
    survey = close(app, world)
    token = token_of(app, survey.id)
    for url in (f"/survey/{bad}", f"/survey/{token[:-1]}{'B' if token[-1] != 'B' else 'C'}"):
        response = app.test_client().get(url)
        assert response.status_code in (400, 404), url
        body = response.get_data(as_text=True)
        assert world.ticket_a.number not in body and "portal-nav" not in body


def test_a_token_opens_its_own_survey_only(app, world):
    first = close(app, world, world.ticket_a)
    second = close(app, world, world.ticket_b)
    page = app.test_client().get(f"/survey/{token_of(app, first.id)}").get_data(as_text=True)
    assert world.ticket_a.number in page and world.ticket_b.number not in page and "乙机房" not in page
    app.test_client().post(f"/survey/{token_of(app, first.id)}", data={"rating": "2"})
    rows = {s.id: s for s in surveys(app)}
    assert rows[first.id].rating == 2 and rows[second.id].answered_at is None


def test_a_token_does_not_depend_on_anything_but_the_secret_and_the_row(app, world):
    survey = close(app, world)
    token = token_of(app, survey.id)
    other = make_app(SECRET_KEY="another-secret", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with other.test_request_context():
        assert services.token_for("ticket", world.ticket_a.id, survey.created_at) != token


def test_the_rate_limit_answers_429_per_address(app, world):
    app.config["SURVEY_RATE_LIMIT"] = 3
    survey = close(app, world)
    token = token_of(app, survey.id)
    here, there = {"REMOTE_ADDR": "10.0.0.1"}, {"REMOTE_ADDR": "10.0.0.2"}
    client = app.test_client()
    assert [client.get(f"/survey/{token}", environ_base=here).status_code for _ in range(3)] == [200] * 3
    limited = client.get("/survey/not-a-token?lang=en", environ_base=here)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert "Too many requests" in limited.get_data(as_text=True)
    assert client.post(f"/survey/{token}", data={"rating": "5"}, environ_base=here).status_code == 429
    assert surveys(app)[0].answered_at is None
    assert client.get(f"/survey/{token}", environ_base=there).status_code == 200  # another address is not held up
    with app.app_context():
        hits = db.session.scalars(sa.select(SurveyThrottle.hits).where(SurveyThrottle.address == "10.0.0.1")).all()
        assert sum(hits) == 5  # three pages, the refused page and the refused answer all counted
        # The next minute starts again.
        later = utcnow() + timedelta(minutes=2)
        assert services.limited("10.0.0.1", later) is False
        db.session.commit()


def test_the_answer_needs_the_forms_csrf_token(shared, make):
    from tests.factories import World

    world = World(make.__class__(shared))
    survey = close(shared, world)
    token = token_of(shared, survey.id)
    guarded = make_app(WTF_CSRF_ENABLED=True, SQLALCHEMY_DATABASE_URI=shared.config["SQLALCHEMY_DATABASE_URI"])
    client = guarded.test_client()
    refused = client.post(f"/survey/{token}?lang=en", data={"rating": "5"})
    assert refused.status_code == 400 and "Form expired" in refused.get_data(as_text=True)
    assert "portal-nav" not in refused.get_data(as_text=True)
    page = client.get(f"/survey/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"/survey/{token}", data={"rating": "5", "csrf_token": csrf}).status_code == 303


def test_comments_are_escaped_everywhere(app, world):
    survey = close(app, world)
    token = token_of(app, survey.id)
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    app.test_client().post(f"/survey/{token}", data={"rating": "3", "comment": evil})
    for client, url in (
        (app.test_client(), f"/survey/{token}"),
        (app.test_client(user=world.manager), "/surveys/"),
        (app.test_client(user=world.manager), f"/tickets/{world.ticket_a.id}"),
        (app.test_client(user=world.a_school), f"/tickets/{world.ticket_a.id}"),
    ):
        body = client.get(url).get_data(as_text=True)
        assert evil not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url


# ---------------------------------------------------------------- on the pages and in the list


def test_vendor_staff_see_the_link_and_qr_code_the_client_sees_the_answer(app, world):
    survey = close(app, world)
    token = token_of(app, survey.id)
    vendor = app.test_client(user=world.agent).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
    assert f"/survey/{token}" in vendor and "<svg" in vendor and "Sent, not answered yet" in vendor
    school = app.test_client(user=world.a_school).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
    assert f"/survey/{token}" not in school and "Sent, not answered yet" in school
    app.test_client().post(f"/survey/{token}", data={"rating": "5", "comment": "很好"})
    for user in (world.agent, world.a_school, world.a_admin):
        page = app.test_client(user=user).get(f"/tickets/{world.ticket_a.id}?lang=en").get_data(as_text=True)
        assert "5 of 5" in page and "很好" in page and f"/survey/{token}" not in page
    sign(app, world, world.visit_a)
    visit_survey = [s for s in surveys(app) if s.visit_id][0]
    page = app.test_client(user=world.manager).get(f"/inspections/{world.visit_a.id}").get_data(as_text=True)
    assert f"/survey/{token_of(app, visit_survey.id)}" in page


def test_the_list_shows_each_role_its_own_answers(app, world):
    a1 = close(app, world, world.ticket_a)
    a2 = close(app, world, world.ticket_a2)
    b = close(app, world, world.ticket_b)
    for survey, comment in ((a1, "甲一评价"), (a2, "甲二评价"), (b, "乙评价")):
        app.test_client().post(f"/survey/{token_of(app, survey.id)}", data={"rating": "5", "comment": comment})
    seen = {
        world.manager: {"甲一评价", "甲二评价", "乙评价"},
        world.agent: {"甲一评价", "甲二评价", "乙评价"},
        world.a_admin: {"甲一评价", "甲二评价"},
        world.a_staff: {"甲一评价", "甲二评价"},
        world.a_school: {"甲一评价"},
        world.a_school2: {"甲二评价"},
        world.b_admin: {"乙评价"},
        world.b_staff: {"乙评价"},
    }
    for user, expected in seen.items():
        body = app.test_client(user=user).get("/surveys/?lang=en").get_data(as_text=True)
        shown = {c for c in ("甲一评价", "甲二评价", "乙评价") if c in body}
        assert shown == expected, user.email
        assert f"Answered: {len(expected)}" in body, user.email
    body = app.test_client(user=world.manager).get(f"/surveys/?client={world.b.id}").get_data(as_text=True)
    assert "乙评价" in body and "甲一评价" not in body
    body = app.test_client(user=world.a_admin).get(f"/surveys/?client={world.b.id}").get_data(as_text=True)
    assert "甲一评价" in body and "乙评价" not in body  # the client filter is the vendor's only


def test_the_list_counts_sent_answered_and_expired(app, world):
    a1 = close(app, world, world.ticket_a)
    a2 = close(app, world, world.ticket_a2)
    close(app, world, world.ticket_b)
    app.test_client().post(f"/survey/{token_of(app, a1.id)}", data={"rating": "5"})
    with app.app_context():
        db.session.get(Survey, a2.id).expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    body = app.test_client(user=world.manager).get("/surveys/?lang=en").get_data(as_text=True)
    assert "Awaiting an answer: 1" in body and "Answered: 1" in body and "Expired without an answer: 1" in body
    body = app.test_client(user=world.manager).get("/surveys/?lang=en&state=expired").get_data(as_text=True)
    assert world.ticket_a2.number in body and world.ticket_a.number not in body
    # Newest first: B's survey (made last) comes before A's.
    body = app.test_client(user=world.manager).get("/surveys/").get_data(as_text=True)
    assert body.index(world.ticket_b.number) < body.index(world.ticket_a.number)


def test_a_page_of_survey_invitations_costs_one_query_for_their_links(app, world, make, count_queries):
    close(app, world, world.ticket_a)
    reporter = app.test_client(user=world.a_school)
    with count_queries() as one:
        page = reporter.get("/notifications/").get_data(as_text=True)
    assert len(LINK.findall(page)) == 1
    for _ in range(4):
        ticket = make.ticket(world.a_school, world.a_site1, world.unit_a1)
        close(app, world, ticket)
    with count_queries() as five:
        page = reporter.get("/notifications/").get_data(as_text=True)
    assert len(set(LINK.findall(page))) == 5
    assert five.count == one.count

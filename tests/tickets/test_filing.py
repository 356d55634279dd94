"""Filing a fault report: the clocks fixed at filing, numbering, billable and unregistered equipment, filing on a
client's behalf, scoping, bad input, the unit search, and the photos (checked by content, at most five)."""

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from portal.extensions import db
from portal.tickets.models import Ticket
from portal.types import utcnow

from .helpers import FIELDS, get, png

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
    response = client.post(
        "/tickets/new", data={**FIELDS, "channel": "phone", "site": world.b_site.id, "equipment_text": "机房空调"}
    )
    assert response.status_code == 302
    ticket = get(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert ticket.client_id == world.b.id and ticket.channel == "phone"


def test_a_client_cannot_file_at_another_clients_site_or_unit(app, world):
    client = app.test_client(user=world.a_staff)
    assert client.post("/tickets/new", data={**FIELDS, "unit": world.unit_b.id}).status_code == 404
    assert (
        client.post("/tickets/new", data={**FIELDS, "site": world.b_site.id, "equipment_text": "x"}).status_code == 404
    )
    school = app.test_client(user=world.a_school)
    assert school.post("/tickets/new", data={**FIELDS, "unit": world.unit_a2.id}).status_code == 404


def test_bad_input_is_explained_per_field_and_kept(app, world):
    client = app.test_client(user=world.a_staff)
    response = client.post("/tickets/new?lang=en", data={"title": "我打的字", "contact_name": "", "site": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in (
        "Choose how serious the fault is.",
        "Describe the fault",
        "This field is required.",
        "Choose the site where the equipment is.",
        "Choose the unit above, or describe the equipment here.",
    ):
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
            ("a.png", "image/png", 4, 3),
            ("b.png", "image/png", 4, 3),
        ]
        photo_id = photos[0].id
    image = filer.get(f"/tickets/{ticket_id}/photos/{photo_id}")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert Image.open(io.BytesIO(image.data)).convert("RGB").tobytes() == Image.new("RGB", (4, 3), "red").tobytes()
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client(user=world.b_admin).get(f"/tickets/{ticket_id}/photos/{photo_id}").status_code == 404
    # The photo's id under another ticket answers 404 too.
    assert filer.get(f"/tickets/{world.ticket_a.id}/photos/{photo_id}").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.jpg", b"<html><script>alert(1)</script></html>", "is not a real JPEG file"),
        ("truncated.png", png()[:30], "is not a whole PNG image"),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "is not a kind of file accepted here: JPEG or PNG."),
        ("manual.pdf", b"%PDF-1.4 x", "is not a kind of file accepted here: JPEG or PNG."),
        ("empty.png", b"", "is empty"),
        ("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024), "is larger than 5 MB"),
    ],
)
def test_fake_broken_and_oversized_photos_are_refused(app, filer, name, content, message):
    response = upload(filer, (name, content))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and name in page
    assert 'value="屏幕不亮"' in page  # what was typed is kept


def test_at_most_five_photos(app, filer):
    response = upload(filer, *[(f"{n}.png", png()) for n in range(6)])
    assert "At most 5 photos." in response.get_data(as_text=True)

"""The ticket tests' form fields and helpers: a photo, a ticket as stored, a move through the ticket's page."""

import io
import re
from datetime import timedelta

from PIL import Image

from portal.extensions import db
from portal.tickets.models import Ticket

FIELDS = {
    "severity": "B",
    "kind": "hardware",
    "title": "屏幕不亮",
    "description": "302教室黑屏",
    "contact_name": "张老师",
    "contact_phone": "13800000000",
    "channel": "portal",
}


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
        for name in (
            "filed_at",
            "resolution_from",
            "response_due",
            "proposal_due",
            "on_site_due",
            "resolution_due",
            "response_risk",
            "proposal_risk",
            "on_site_risk",
            "resolution_risk",
            "next_due",
            "next_risk",
            "watch_at",
        ):
            if getattr(ticket, name) is not None:
                setattr(ticket, name, getattr(ticket, name) - step)
        db.session.commit()

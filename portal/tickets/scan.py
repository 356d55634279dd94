"""Arrival by QR scan: an engineer opening a unit's page from its label gets a signed note of that moment, which
the "on site" button sends back, so that the arrival is recorded at the time of the scan, not of the click."""

from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_AGE = 3600  # the button records the scan's time if pressed within the hour


def signer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ticket-arrival-scan")


def scan_token(ticket, at):
    return signer().dumps({"ticket": ticket.id, "at": at.isoformat()})


def scanned_at(ticket, token):
    """The moment of the scan, if ``token`` is a genuine, recent note for this ticket; otherwise None."""
    try:
        data = signer().loads(token, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("ticket") != ticket.id:
        return None
    return datetime.fromisoformat(data["at"])

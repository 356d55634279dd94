"""Rules for clients and sites that more than one view needs."""

import sqlalchemy as sa

from ..extensions import db
from .models import Client, Site


def client_name_taken(name_zh, exclude_id=None):
    q = sa.select(Client.id).where(Client.name_zh == name_zh)
    if exclude_id is not None:
        q = q.where(Client.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None


def site_name_taken(client_id, name_zh, exclude_id=None):
    q = sa.select(Site.id).where(Site.client_id == client_id, Site.name_zh == name_zh)
    if exclude_id is not None:
        q = q.where(Site.id != exclude_id)
    return db.session.scalar(q.limit(1)) is not None

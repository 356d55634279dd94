"""The warranty overview: how many units are in each state, what expires when, and where."""
import sqlalchemy as sa
from flask import current_app, render_template
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..equipment.models import Equipment
from ..equipment.services import count_by_state, state_case
from ..equipment.warranty import LISTED_STATES, WarrantyState, add_months
from ..extensions import db
from ..i18n import local_today
from ..orgs.models import Client, Site
from ..roles import ALL
from ..scoping import roles_required
from . import bp

MONTHS_AHEAD = 12
SOONEST = 8


def month_starts(today, count=MONTHS_AHEAD):
    """The first day of this month and of each of the next ``count`` months."""
    first = today.replace(day=1)
    return [add_months(first, i) for i in range(count + 1)]


def expiring_by_month(scoped, today):
    """Units whose warranty ends in each of the next 12 months (this month from today on): one query."""
    starts = month_starts(today)
    bounds = [today] + starts[1:]
    columns = [
        sa.func.sum(sa.case((sa.and_(Equipment.covered_until >= low, Equipment.covered_until < high), 1), else_=0))
        for low, high in zip(bounds, bounds[1:], strict=False)
    ]
    counts = db.session.execute(scoped.with_only_columns(*columns)).one()
    return [(start, int(count or 0)) for start, count in zip(starts[:-1], counts, strict=True)]


@bp.get("/")
@roles_required(*ALL)
def index():
    today = local_today()
    scoped = Equipment.scoped(current_user)
    by_state = count_by_state(scoped, today)
    months = expiring_by_month(scoped, today)
    per_site = []
    if current_user.site_id is None:
        rows = db.session.execute(
            scoped.join(Site, Site.id == Equipment.site_id).join(Client, Client.id == Site.client_id)
            .with_only_columns(Site.id, Site.name_zh, Site.name_en, Client.name_zh.label("client_zh"),
                               Client.name_en.label("client_en"), state_case(today).label("state"), sa.func.count())
            .group_by(Site.id, Site.name_zh, Site.name_en, Client.name_zh, Client.name_en, sa.literal_column("state"))
        ).all()
        sites = {}
        for site_id, zh, en, client_zh, client_en, state, count in rows:
            entry = sites.setdefault(site_id, {"id": site_id, "name_zh": zh, "name_en": en, "client_zh": client_zh,
                                               "client_en": client_en, "counts": {}, "total": 0})
            entry["counts"][state] = count
            entry["total"] += count
        per_site = sorted(sites.values(), key=lambda s: (-s["counts"].get(WarrantyState.EXPIRING, 0),
                                                         -s["counts"].get(WarrantyState.EXPIRED, 0), s["name_zh"]))
    soonest = db.session.scalars(
        scoped.where(Equipment.covered_until >= today).order_by(Equipment.covered_until, Equipment.id)
        .options(joinedload(Equipment.model), joinedload(Equipment.site)).limit(SOONEST)
    ).all()
    return render_template(
        "warranty/index.html", today=today, by_state=by_state, states=LISTED_STATES, months=months,
        per_site=per_site, soonest=soonest, total=sum(by_state.values()),
        expiring_days=current_app.config["WARRANTY_EXPIRING_DAYS"],
    )

"""The warranty overview: how many units are in each state, what expires when, and where.

Every count comes from the maintained tallies (``equipment.tally``): a vendor's overview is one row a client (a page
of them), each a link to that client's page (its sites, its soonest expiries); a client's users see their sites, a
school administrator their school.
"""

import sqlalchemy as sa
from flask import current_app
from flask_login import current_user
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.orm import joinedload

from ..bounds import page_number
from ..equipment import tally
from ..equipment.models import Equipment
from ..equipment.warranty import LISTED_STATES
from ..extensions import db
from ..htmx import render
from ..i18n import local_today
from ..orgs.models import Client
from ..pagination import offset_page
from ..roles import ALL, Role
from ..scoping import roles_required
from . import bp

SOONEST = 8
# Who may open a client's page: the vendor (any client) and a client's users with all its sites (their own).
CLIENT_PAGE = (Role.VENDOR_MANAGER, Role.VENDOR_AGENT, Role.CLIENT_ADMIN, Role.CLIENT_STAFF)


class RowPagination(SelectPagination):
    """``db.paginate`` for a select of several columns (its rows, not its first column), counted by ``count_select``."""

    def _query_items(self):
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return self._query_args["session"].execute(select).all()

    def _query_count(self):
        return self._query_args["session"].scalar(self._query_args["count_select"])


def soonest(user, today, client_id=None):
    """The units whose cover ends soonest (from today on), by an index on the end date."""
    query = Equipment.scoped(user, Equipment.covered_until >= today)
    if client_id is not None:
        query = query.where(Equipment.client_id == client_id)
    return db.session.scalars(
        query.order_by(Equipment.covered_until, Equipment.id)
        .options(joinedload(Equipment.model), joinedload(Equipment.site))
        .limit(SOONEST)
    ).all()


def overview(today, client=None, clients=None, sites=None):
    """What every overview shows: the user's units (or one client's) by state, by month of expiry, the soonest."""
    by_state = tally.counts_by_state(current_user, today, client_id=client.id if client else None)
    return dict(
        today=today,
        by_state=by_state,
        states=LISTED_STATES,
        total=sum(by_state.values()),
        months=tally.expiring_by_month(current_user, today, client_id=client.id if client else None),
        soonest=soonest(current_user, today, client.id if client else None),
        client=client,
        expiring_days=current_app.config["WARRANTY_EXPIRING_DAYS"],
        clients=clients,
        sites=sites,
    )


@bp.get("/")
@roles_required(*ALL)
def index():
    today = local_today()
    if current_user.is_vendor:
        clients = offset_page(
            RowPagination(
                select=tally.per_client(today),
                count_select=sa.select(sa.func.count(Client.id)),
                session=db.session,
                page=page_number(),
                per_page=current_app.config["PAGE_SIZE"],
                error_out=False,
            )
        )
        return render("warranty/index.html", fragment="warranty/_clients.html", **overview(today, clients=clients))
    sites = tally.per_site(current_user.client_id, today) if current_user.site_id is None else None
    return render("warranty/index.html", **overview(today, sites=sites))


@bp.get("/clients/<int:client_id>")
@roles_required(*CLIENT_PAGE)
def client(client_id):
    """One client's overview: its sites, its soonest expiries (another client's answers 404)."""
    subject = Client.get_or_404(client_id, current_user)
    today = local_today()
    return render("warranty/index.html", **overview(today, subject, sites=tally.per_site(subject.id, today)))

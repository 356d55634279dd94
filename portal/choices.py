"""The client, site and contract choices of the lists' filters, bounded whatever the vendor's size.

A vendor serving 100 bureaus has 2,000 schools: one ``<select>`` of every site is 100 KB of HTML on each list page
and 2,000 rows read for it. So a vendor chooses the client first, then one of that client's sites or contracts; a
client's user has their own sites and contracts; a school administrator has no site to choose.

Without JavaScript the form's button sends the client and the page comes back with its sites. With htmx, a change
of client fetches the table, and the table's fragment carries the new client's options for the site and contract
selects (``hx-swap-oob``: macros/lists.html's ``scope_options``).
"""

from dataclasses import dataclass, field

import sqlalchemy as sa

from .contracts.models import Contract
from .extensions import db
from .orgs.models import Client, Site


@dataclass
class Scope:
    """A list's client, site and contract filter after checking (``None``: not narrowed), and the choices offered."""

    client: int | None = None
    site: int | None = None
    contract: int | None = None
    clients: list = field(default_factory=list)  # a vendor's: every client
    sites: list = field(default_factory=list)  # the chosen client's (a vendor's), the user's own (a client's user)
    contracts: list = field(default_factory=list)
    vendor: bool = False


def scope_choices(user, client=None, site=None, contract=None, *, sites=True, contracts=False):
    """The choices for ``user``, with ``client``, ``site`` and ``contract`` as read from the query string.

    For a vendor: a site or contract given without its client (a link from a site's or a contract's page) selects
    its client; a site or contract that is not the chosen client's (the client was just changed) is dropped, and so
    is an unknown client; only the chosen client's sites (``sites``) and contracts (``contracts``) are offered. A client's user sees their own sites and contracts; their filter values are kept as given
    (the list's scoped query shows nothing of another client's anyway). At most four small queries, whatever the
    number of clients, sites or contracts."""
    scope = Scope(client=client, site=site, contract=contract, vendor=user.is_vendor)
    if not user.is_vendor:
        scope.client = None
        if sites and user.site_id is None:
            scope.sites = db.session.scalars(Site.scoped(user).order_by(Site.name_zh)).all()
        if contracts:
            scope.contracts = db.session.scalars(Contract.scoped(user).order_by(Contract.number)).all()
        return scope
    scope.clients = db.session.scalars(sa.select(Client).order_by(Client.name_zh)).all()
    if scope.client not in {c.id for c in scope.clients}:
        scope.client = None
    owners = owners_of(site, contract)
    if scope.client is None:  # a site or a contract given alone (a link from its page): its client
        scope.client = owners.get("site", owners.get("contract"))
    if scope.client is None or owners.get("site") != scope.client:
        scope.site = None
    if scope.client is None or owners.get("contract") != scope.client:
        scope.contract = None
    if scope.client is not None and sites:
        scope.sites = db.session.scalars(
            sa.select(Site).where(Site.client_id == scope.client).order_by(Site.name_zh)
        ).all()
    if scope.client is not None and contracts:
        scope.contracts = db.session.scalars(
            sa.select(Contract).where(Contract.client_id == scope.client).order_by(Contract.number)
        ).all()
    return scope


def owners_of(site, contract):
    """{"site": its client's id, "contract": its client's id} for those given and found, in one query."""
    if not site and not contract:
        return {}
    rows = db.session.execute(
        sa.union_all(
            sa.select(sa.literal("site"), Site.client_id).where(Site.id == (site or 0)),
            sa.select(sa.literal("contract"), Contract.client_id).where(Contract.id == (contract or 0)),
        )
    ).all()
    return dict(rows)

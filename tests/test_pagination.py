"""Seek pagination (portal/pagination.py): every row once, in order, forward and back, in each sort and scope;
filters kept in the links; cursors that are garbage, tampered or another client's change nothing but the page;
the count capped; the same queries on every page."""

import base64
import html
import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import pagination
from portal.equipment.models import Equipment
from portal.extensions import db
from portal.tickets.models import Ticket

EN = {"Accept-Language": "en"}
SORTS = ["end", "-end", "serial", "new"]
NOT_LATER = date(2200, 1, 1)


def ids_in(page, kind="equipment"):
    """The row ids a list page shows, in order (each once: a row may link its id twice)."""
    table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    seen = []
    for found in re.findall(rf'href="/{kind}/(\d+)"', table):
        if int(found) not in seen:
            seen.append(int(found))
    return seen


def link(page, rel):
    found = re.search(rf'<a class="page-link" href="([^"]+)"[^>]*rel="{rel}"', page)
    return html.unescape(found[1]) if found else None


def walk(browser, url, kind="equipment"):
    """The pages from ``url`` following "next" to the end, then "previous" back: (forward, backward, the last page)."""
    forward, page = [], browser.get(url, headers=EN).get_data(as_text=True)
    while True:
        forward.append(ids_in(page, kind))
        following = link(page, "next")
        if not following:
            break
        page = browser.get(following, headers=EN).get_data(as_text=True)
    backward, last = [forward[-1]], page
    while link(page, "prev"):
        page = browser.get(link(page, "prev"), headers=EN).get_data(as_text=True)
        backward.append(ids_in(page, kind))
    return forward, backward[::-1], last


def token(*values):
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=").decode()


@pytest.fixture
def units(app, world, make):
    """Eleven more units at A's first school: ends shared by several (ties broken by the id), two without an end
    (pending: they come last in either direction), serial numbers out of the ids' order."""
    app.config["PAGE_SIZE"] = 3
    ends = [
        date(2027, 5, 1),
        date(2027, 5, 1),
        date(2026, 1, 1),
        None,
        date(2030, 1, 1),
        date(2027, 5, 1),
        date(2028, 2, 2),
        None,
        date(2026, 1, 1),
        date(2029, 9, 9),
        date(2027, 5, 1),
    ]
    for n, _end in enumerate(ends):
        make.unit(world.contract_a, world.a_site1, world.model, serial=f"Z{(n * 7) % 11:02d}")
    with app.app_context():
        added = db.session.scalars(sa.select(Equipment).where(Equipment.serial.like("Z%")).order_by(Equipment.id)).all()
        for unit, end in zip(added, ends, strict=True):
            unit.covered_until = unit.warranty_end = end
        db.session.commit()
    return world


def expected_units(app, sort, **where):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Equipment.id, Equipment.covered_until, Equipment.serial).filter_by(**where)
        ).all()
    keys = {
        "end": lambda r: (r.covered_until is None, r.covered_until or NOT_LATER, r.id),
        "-end": lambda r: (r.covered_until is None, -(r.covered_until or NOT_LATER).toordinal(), -r.id),
        "serial": lambda r: (r.serial, r.id),
        "new": lambda r: -r.id,
    }
    return [r.id for r in sorted(rows, key=keys[sort])]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize(
    "who,scope", [("manager", {}), ("a_admin", {"client_id": "a"}), ("a_school", {"site_id": "a_site1"})]
)
def test_every_unit_once_in_order_forward_and_back(app, units, sort, who, scope):
    where = {k: getattr(units, v).id for k, v in scope.items()}
    browser = app.test_client(user=getattr(units, who))
    forward, backward, last = walk(browser, f"/equipment/?sort={sort}")
    assert sum(forward, []) == expected_units(app, sort, **where)
    assert len(forward) >= 4 and all(len(p) == 3 for p in forward[:-1])
    assert backward == forward  # "previous" from the last page gives the same pages again
    assert link(last, "next") is None and 'class="page-link">Next</span>' in last  # the last page: no next
    total = len(sum(forward, []))
    second = browser.get(link(browser.get(f"/equipment/?sort={sort}").get_data(as_text=True), "next"), headers=EN)
    assert f"4–6 of {total}" in second.get_data(as_text=True)


def test_the_links_keep_the_filters_and_the_sort(app, units):
    browser = app.test_client(user=units.manager)
    url = f"/equipment/?sort=serial&site={units.a_site1.id}&contract={units.contract_a.id}"
    page = browser.get(url, headers=EN).get_data(as_text=True)
    following = link(page, "next")
    for arg in ("sort=serial", f"site={units.a_site1.id}", f"contract={units.contract_a.id}", "after="):
        assert arg in following
    second = browser.get(following, headers=EN).get_data(as_text=True)
    assert "4–6 of 12" in second
    previous = link(second, "prev")
    assert "sort=serial" in previous and f"site={units.a_site1.id}" in previous and "before=" in previous
    assert ids_in(browser.get(previous, headers=EN).get_data(as_text=True)) == ids_in(page)
    forward, _back, _last = walk(browser, url)
    assert sum(forward, []) == expected_units(app, "serial", site_id=units.a_site1.id, contract_id=units.contract_a.id)


def test_htmx_swaps_the_table_with_the_same_links(app, units):
    browser = app.test_client(user=units.a_admin)
    first = browser.get("/equipment/", headers={**EN, "HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in first and 'hx-target="#equipment-table"' in first
    following = link(first, "next")
    assert f'hx-get="{html.escape(following)}"' in first
    second = browser.get(following, headers={**EN, "HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in second and ids_in(second) and ids_in(second) != ids_in(first)
    full = browser.get(following, headers=EN).get_data(as_text=True)  # without JavaScript: the whole page
    assert "<html" in full and ids_in(full) == ids_in(second)


GARBAGE = [
    "",
    "x",
    "!!!!",
    "%00",
    "A" * 5000,
    token(),
    token("end"),
    token("end", 1),
    token("serial", 4, "Z03", 1),
    token("end", 4, "2027-05-01", "abc"),
    token("end", 4, "2027-13-01", 1),
    token("end", 0, "2027-05-01", 1),
    token("end", -4, "2027-05-01", 1),
    token("end", 4, "2027-05-01", 2**31),
    token("end", 4, "2027-05-01", -1),
    token("end", 4, "2027-05-01", 1.5),
    token("end", 4, {"a": 1}, 1),
    token("end", 4, [1], 1),
    token("end", 4, "9999-12-31", 1),
    token("end", 4, "2027-05-01", True),
    token("end", 4, "2027-05-01"),
    token("end", 4, "2027-05-01", 1, 2),
    token("end", "4", "2027-05-01", None),
    token("end", 4, 20270501, 1),
    token("end", 10**30, "2027-05-01", 1),
    base64.urlsafe_b64encode(b"\xff\xfe[").decode(),
    base64.urlsafe_b64encode(b'{"end": 1}').decode(),
    "eyJ",
]


@pytest.mark.parametrize("arg", ["after", "before"])
def test_a_garbage_or_tampered_cursor_is_the_first_page(app, units, arg):
    browser = app.test_client(user=units.a_admin)
    first = ids_in(browser.get("/equipment/", headers=EN).get_data(as_text=True))
    for bad in GARBAGE:
        response = browser.get("/equipment/", query_string={arg: bad}, headers=EN)
        assert response.status_code == 200, bad
        assert ids_in(response.get_data(as_text=True)) == first, bad
    texts = [token("serial", 4, "\x00", 1), token("serial", 4, "Z" * 5000, 1), token("serial", 4, None, 1)]
    serial = ids_in(browser.get("/equipment/?sort=serial", headers=EN).get_data(as_text=True))
    for bad in texts:
        response = browser.get("/equipment/", query_string={"sort": "serial", arg: bad}, headers=EN)
        assert response.status_code == 200 and ids_in(response.get_data(as_text=True)) == serial
    moments = [
        token("due", 4, "2026-05-01T08:00:00", 1),
        token("due", 4, "tomorrow", 1),
        token("filed", 4, "yes", "2026-05-01T08:00:00+00:00", 1),
    ]
    for bad in moments:
        for view in ("open", "all"):
            assert browser.get("/tickets/", query_string={"view": view, arg: bad}).status_code == 200


def test_a_cursor_from_another_clients_row_shows_only_ones_own(app, units):
    """A cursor holds sort keys, never a scope: B's unit's keys seek within A's units, and show nothing of B."""
    with app.app_context():
        b_unit = db.session.get(Equipment, units.unit_b.id)
        own = set(db.session.scalars(sa.select(Equipment.id).where(Equipment.client_id == units.a.id)))
        site = set(db.session.scalars(sa.select(Equipment.id).where(Equipment.site_id == units.a_site1.id)))
        cursors = [
            pagination.Order("end", (Equipment.covered_until, Equipment.id)).encode(2, b_unit),
            token("end", 2, "2000-01-01", 0),
            token("end", 2, None, 0),
        ]
    for user, allowed in ((units.a_admin, own), (units.a_school, site)):
        browser = app.test_client(user=user)
        for cursor in cursors:
            for arg in ("after", "before"):
                page = browser.get("/equipment/", query_string={arg: cursor}, headers=EN).get_data(as_text=True)
                assert set(ids_in(page)) <= allowed and "B-0001" not in page


def test_a_page_number_of_the_former_pager_still_works_up_to_a_cap(app, units, monkeypatch):
    browser = app.test_client(user=units.manager)
    forward, _back, _last = walk(browser, "/equipment/")
    assert ids_in(browser.get("/equipment/?page=2", headers=EN).get_data(as_text=True)) == forward[1]
    page = browser.get("/equipment/?page=3", headers=EN).get_data(as_text=True)
    assert ids_in(page) == forward[2] and "7–9 of 14" in page
    assert ids_in(browser.get(link(page, "next"), headers=EN).get_data(as_text=True)) == forward[3]
    monkeypatch.setattr(pagination, "OFFSET_PAGES", 2)  # beyond the cap: the cap's page, never a deeper OFFSET
    assert ids_in(browser.get("/equipment/?page=4", headers=EN).get_data(as_text=True)) == forward[1]


def test_the_count_stops_at_its_cap(app, units, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_MAX", 5)
    browser = app.test_client(user=units.manager)
    page = browser.get("/equipment/", headers=EN).get_data(as_text=True)
    assert "1–3 of more than 5" in page and "More than 5 units" in page
    zh = browser.get("/equipment/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "1–3，共超过 5 条" in zh and "超过 5 台设备" in zh
    monkeypatch.setattr(pagination, "COUNT_MAX", 14)
    assert "1–3 of 14" in browser.get("/equipment/", headers=EN).get_data(as_text=True)


@pytest.fixture
def tickets(app, units, make):
    """Fifteen more fault reports at A's schools: some with nothing due (last in the queue), some closed."""
    filed = make.tickets([(units.a_school, units.a_site1, None)] * 9 + [(units.a_school2, units.a_site2, None)] * 6)
    with app.app_context():
        for n, ticket in enumerate(filed):
            row = db.session.get(Ticket, ticket.id)
            if n % 4 == 0:
                row.next_due = None
            if n % 5 == 1:
                row.is_open, row.status, row.next_due = False, "closed", None
            row.filed_at = row.filed_at - timedelta(hours=n % 3)  # not in the ids' order
        db.session.commit()
    return units


def expected_tickets(app, view, **where):
    with app.app_context():
        rows = db.session.scalars(sa.select(Ticket).filter_by(**where)).all()
    if view == "open":
        rows = [t for t in rows if t.is_open]
        key = lambda t: (t.next_due is None, t.next_due.timestamp() if t.next_due else 0, t.id)  # noqa: E731
    else:
        rows = [t for t in rows if view == "all" or not t.is_open]
        key = lambda t: (not t.is_open, -t.filed_at.timestamp(), -t.id)  # noqa: E731
    return [t.id for t in sorted(rows, key=key)]


@pytest.mark.parametrize("view", ["open", "all", "closed"])
@pytest.mark.parametrize(
    "who,scope", [("manager", {}), ("a_admin", {"client_id": "a"}), ("a_school", {"site_id": "a_site1"})]
)
def test_every_ticket_once_in_the_queues_order(app, tickets, view, who, scope):
    where = {k: getattr(tickets, v).id for k, v in scope.items()}
    browser = app.test_client(user=getattr(tickets, who))
    forward, backward, _last = walk(browser, f"/tickets/?view={view}", kind="tickets")
    assert sum(forward, []) == expected_tickets(app, view, **where)
    assert backward == forward


def test_every_page_asks_the_same_queries(app, tickets, count_queries):
    browser = app.test_client(user=tickets.a_admin)
    for url in ("/equipment/", "/equipment/?sort=serial", "/tickets/?view=all"):
        with count_queries() as first:
            page = browser.get(url, headers=EN).get_data(as_text=True)
        following = link(page, "next")
        with count_queries() as second:
            page = browser.get(following, headers=EN).get_data(as_text=True)
        with count_queries() as back:
            browser.get(link(page, "prev"), headers=EN)
        # Going back from the non-null dates of a nullable order reads one segment only: one query fewer.
        assert first.count == second.count and first.count - 1 <= back.count <= first.count, (url, back.statements)


def test_the_benchmarks_deep_page_is_the_page_walking_there_reaches(app, units):
    from portal.bench import deep_page

    forward, _back, _last = walk(app.test_client(user=units.manager), "/equipment/")
    url = deep_page(app, pages_in=3)
    assert "after=" in url
    page = app.test_client(user=units.manager).get(url, headers=EN).get_data(as_text=True)
    assert ids_in(page) == forward[2] and "7–9 of 14" in page
    last = app.test_client(user=units.manager).get(deep_page(app, pages_in=100), headers=EN)  # fewer: the last
    assert ids_in(last.get_data(as_text=True)) == forward[-1]

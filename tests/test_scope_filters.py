"""The lists' client, site and contract filters (portal.choices): a vendor chooses the client, then one of its sites
or contracts, so that no list page carries a <select> of every school; on the equipment list and the inspection
schedule, with and without htmx."""

import re

import pytest

HTMX = {"HX-Request": "true"}


def options(page, name):
    """[(value, text, selected)] of the <select name=...> (or the out-of-band <select id=...>) in ``page``."""
    select = re.search(rf'<select[^>]*(?:name|id)="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name}"
    return [
        (v, t, bool(s))
        for v, s, t in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1))
    ]


def selected(page, name):
    return [v for v, _t, s in options(page, name) if s]


def texts(page, name):
    """The "all" choice, then the other choices' texts in any order."""
    found = [t for _v, t, _s in options(page, name)]
    return [found[0], *sorted(found[1:])]


def has_select(page, name):
    return re.search(rf'<select[^>]*name="{name}"', page) is not None


LISTS = ["/equipment/", "/inspections/?state=all"]
COUNTED = [*LISTS, "/documents/"]


def url(base, **args):
    return base + ("&" if "?" in base else "?") + "&".join(f"{k}={v}" for k, v in args.items())


@pytest.mark.parametrize("base", LISTS)
class TestVendor:
    def test_no_client_chosen_no_site_listed(self, app, world, base):
        page = app.test_client(user=world.agent).get(url(base, lang="en")).get_data(as_text=True)
        assert texts(page, "client") == ["All clients", "Bureau A", "Centre B"]
        assert texts(page, "site") == ["All sites"]
        assert "A School 1" in page and "B Data Room" in page  # the rows: every client's

    def test_a_client_then_its_sites(self, app, world, base):
        page = app.test_client(user=world.agent).get(url(base, client=world.a.id, lang="en")).get_data(as_text=True)
        assert selected(page, "client") == [str(world.a.id)]
        assert texts(page, "site") == ["All sites", "A School 1", "A School 2"]
        assert "B Data Room" not in page and "A School 1" in page

    def test_a_site_alone_selects_its_client(self, app, world, base):
        """A link from a site's page (?site=) shows the site's client chosen and the site among its sites."""
        page = app.test_client(user=world.agent).get(url(base, site=world.a_site2.id, lang="en")).get_data(as_text=True)
        assert selected(page, "client") == [str(world.a.id)] and selected(page, "site") == [str(world.a_site2.id)]
        rows = page[page.index("<tbody>") : page.index("</tbody>")]
        assert "A School 2" in rows and "A School 1" not in rows and "B Data Room" not in rows

    def test_a_site_of_another_client_is_dropped(self, app, world, base):
        """The client was just changed: the site chosen before belongs to the former client and is not applied."""
        page = app.test_client(user=world.agent).get(url(base, client=world.b.id, site=world.a_site1.id, lang="en"))
        page = page.get_data(as_text=True)
        assert selected(page, "client") == [str(world.b.id)] and selected(page, "site") == []
        assert "B Data Room" in page and "A School 1</td>" not in page
        links = [h for h in re.findall(r'href="([^"]*)"', page) if f"client={world.b.id}" in h and "lang=" not in h]
        assert links and not [h for h in links if "site=" in h]  # the list's own links (exports, counts) drop it

    def test_htmx_fills_the_site_select_out_of_band(self, app, world, base):
        browser = app.test_client(user=world.agent)
        fragment = browser.get(url(base, client=world.a.id, lang="en"), headers=HTMX).get_data(as_text=True)
        assert "<html" not in fragment
        oob = re.search(
            r'<select class="form-select" id="site" name="site" hx-swap-oob="true"[^>]*>(.*?)</select>', fragment, re.S
        )
        assert oob and "A School 2" in oob.group(1) and "B Data Room" not in oob.group(1)
        full = browser.get(url(base, client=world.a.id, lang="en")).get_data(as_text=True)
        assert "hx-swap-oob" not in full

    @pytest.mark.parametrize("garbage", ["abc", "999999", "-1", "1e9", "99999999999999999999"])
    def test_garbage_is_ignored(self, app, world, base, garbage):
        browser = app.test_client(user=world.agent)
        for name in ("client", "site", "contract"):
            response = browser.get(url(base, **{name: garbage}))
            assert response.status_code == 200
            assert selected(response.get_data(as_text=True), "client") == []


def test_the_schedule_offers_the_chosen_clients_contracts(app, world):
    browser = app.test_client(user=world.agent)
    page = browser.get("/inspections/?state=all").get_data(as_text=True)
    assert texts(page, "contract") == ["全部合同"]
    page = browser.get(f"/inspections/?state=all&client={world.a.id}").get_data(as_text=True)
    assert texts(page, "contract") == ["全部合同", "HT-A-1", "HT-A-2"]
    # From a contract's page: its client and the contract chosen; another client's contract is dropped.
    page = browser.get(f"/inspections/?state=all&contract={world.contract_b.id}").get_data(as_text=True)
    assert selected(page, "client") == [str(world.b.id)] and selected(page, "contract") == [str(world.contract_b.id)]
    page = browser.get(f"/inspections/?state=all&client={world.a.id}&contract={world.contract_b.id}")
    assert selected(page.get_data(as_text=True), "contract") == []
    fragment = browser.get(f"/inspections/?state=all&client={world.a.id}", headers=HTMX).get_data(as_text=True)
    assert re.search(
        r'<select class="form-select" id="contract" name="contract" hx-swap-oob="true"[^>]*>.*HT-A-2.*</select>',
        fragment,
        re.S,
    )


def test_documents_by_client_then_contract(app, world):
    browser = app.test_client(user=world.agent)
    page = browser.get("/documents/?lang=en").get_data(as_text=True)
    assert texts(page, "contract") == ["All contracts"] and "B technical plan" in page
    page = browser.get(f"/documents/?client={world.a.id}&lang=en").get_data(as_text=True)
    assert texts(page, "contract") == ["All contracts", "HT-A-1", "HT-A-2"]
    rows = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "A technical plan" in rows and "A2 acceptance report" in rows
    assert "B technical plan" not in rows and "Letter of authorisation" not in rows  # the client's contracts' only
    page = browser.get(f"/documents/?contract={world.contract_a2.id}&lang=en").get_data(as_text=True)
    assert selected(page, "client") == [str(world.a.id)] and selected(page, "contract") == [str(world.contract_a2.id)]
    rows = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "A2 acceptance report" in rows and "A technical plan" not in rows
    fragment = browser.get(f"/documents/?client={world.b.id}", headers=HTMX).get_data(as_text=True)
    assert re.search(
        r'<select class="form-select" id="contract" name="contract" hx-swap-oob="true"[^>]*>.*HT-B-1.*</select>',
        fragment,
        re.S,
    )
    # A client's users: their own contracts, no client to choose, another client's ids change nothing.
    page = app.test_client(user=world.a_admin).get(f"/documents/?client={world.b.id}&lang=en").get_data(as_text=True)
    assert not has_select(page, "client") and texts(page, "contract") == ["All contracts", "HT-A-1", "HT-A-2"]
    assert "B technical plan" not in page and "A technical plan" in page


def test_the_equipment_list_keeps_a_contract_of_the_client(app, world):
    """The contract's page links to its units (?contract=): the contract's client is chosen, the contract kept."""
    browser = app.test_client(user=world.agent)
    page = browser.get(f"/equipment/?contract={world.contract_a2.id}").get_data(as_text=True)
    assert selected(page, "client") == [str(world.a.id)]
    assert "A2-0001" in page and "A1-0001" not in page
    assert f'name="contract" value="{world.contract_a2.id}"' in page
    page = browser.get(f"/equipment/?contract={world.contract_a2.id}&client={world.b.id}").get_data(as_text=True)
    assert "B-0001" in page and "A2-0001" not in page and 'name="contract"' not in page


@pytest.mark.parametrize("base", LISTS)
def test_a_clients_users_choose_among_their_own(app, world, base):
    page = app.test_client(user=world.a_admin).get(url(base, lang="en")).get_data(as_text=True)
    assert not has_select(page, "client")
    assert texts(page, "site") == ["All sites", "A School 1", "A School 2"]
    assert "hx-swap-oob" not in app.test_client(user=world.a_admin).get(base, headers=HTMX).get_data(as_text=True)
    school = app.test_client(user=world.a_school).get(url(base, lang="en")).get_data(as_text=True)
    assert not has_select(school, "client") and not has_select(school, "site")
    # Another client's ids change nothing of the scope: nothing of B's is shown.
    page = app.test_client(user=world.a_admin).get(url(base, client=world.b.id, site=world.b_site.id))
    assert page.status_code == 200 and "乙机房" not in page.get_data(as_text=True)


@pytest.mark.parametrize("base", LISTS)
def test_names_in_the_choices_are_escaped(app, world, make, base):
    make.site(world.a, name_zh='<script>alert("x")</script>甲三中')
    page = app.test_client(user=world.agent).get(url(base, client=world.a.id)).get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;甲三中" in page
    fragment = app.test_client(user=world.agent).get(url(base, client=world.a.id), headers=HTMX).get_data(as_text=True)
    assert "<script>alert" not in fragment


@pytest.mark.parametrize("base", COUNTED)
def test_queries_do_not_grow_with_the_clients_and_sites(app, world, make, count_queries, base):
    browser = app.test_client(user=world.agent)
    pages = [
        url(base, client=world.a.id),
        url(base, site=world.a_site1.id),
        url(base, contract=world.contract_a.id),
        base,
    ]
    few = {}
    for page in pages:
        with count_queries() as counter:
            assert browser.get(page).status_code == 200
        few[page] = counter.count
    for _ in range(15):
        client = make.client()
        make.site(client)
        make.site(world.a)
        make.document(world.agent, contract=make.contract(world.a))
    for page in pages:
        with count_queries() as counter:
            assert browser.get(page).status_code == 200
        assert counter.count == few[page], (page, counter.statements)

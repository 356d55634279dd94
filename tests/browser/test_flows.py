"""The main flows, as their users walk them, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
PASSWORD = "portal-demo-2026"


def sign_in(page, base, email, password=PASSWORD):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form button[type=submit]")


def test_school_administrator_signs_in_switches_language_and_signs_out(page, live_server):
    sign_in(page, live_server, "school1@edu.example.com")
    page.wait_for_url(f"{live_server}/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text().startswith("周敏")
    assert "示范区第一中学" in page.inner_text("main")
    # Their school, and only theirs, is two taps away: the menu, then the item.
    page.click("nav.portal-nav button.nav-toggler")
    page.click("nav.portal-nav >> text=我的学校")
    assert "示范区第一中学" in page.inner_text("h1")

    page.click("text=EN")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Demo District No. 1 Middle School" in page.inner_text("h1")
    page.goto(f"{live_server}/")  # the choice sticks
    assert page.inner_text("h1").startswith("Welcome")

    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login"))
    assert "You are signed out" in page.inner_text("main")
    page.goto(f"{live_server}/")
    assert "/login" in page.url
    assert page.console_errors == []


def test_system_administrator_invites_a_user_who_sets_a_password(browser, page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "sysadmin@vendor.example.com")
    page.goto(f"{live_server}/users/new?lang=en")
    page.fill("#name", "Wang Fang")
    page.fill("#email", "wang.fang@edu.example.com")
    page.select_option("#role", "client_staff")
    page.select_option("#client", label="Demo District Education Bureau")
    page.click("button:has-text('Create and get the invitation link')")
    link = page.input_value("#invite-url")
    assert "/invite/" in link
    assert "Invited" in page.inner_text("main")

    newcomer = browser.new_context(locale="en-US")
    try:
        other = newcomer.new_page()
        other.goto(link)
        other.fill("#password", "short")
        other.fill("#confirm", "short")
        other.click("button[type=submit]")
        assert "Use at least 12 characters." in other.inner_text("main")
        other.fill("#password", "A long and happy password 7")
        other.fill("#confirm", "A long and happy password 7")
        other.click("button[type=submit]")
        other.wait_for_url(f"{live_server}/")
        assert "Welcome, Wang Fang" in other.inner_text("main")
        other.goto(link)
        assert "not valid" in other.inner_text("h1")
    finally:
        newcomer.close()
    assert page.console_errors == []


def test_client_admin_searches_users_as_they_type(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "admin@edu.example.com")
    page.goto(f"{live_server}/users/")
    rows = page.locator("#user-table tbody tr")
    table = page.inner_text("#user-table")
    assert "it@edu.example.com" in table and "admin@info.example.com" not in table  # the bureau's own only
    assert rows.count() > 1
    page.fill("#q", "school1")  # no submit: htmx fetches the table
    expect(rows).to_have_count(1)  # (waits; no eval, which the Content-Security-Policy forbids)
    assert "school1@edu.example.com" in page.inner_text("#user-table")
    assert "q=school1" in page.url  # the address follows, so the filter can be shared or reloaded
    assert page.console_errors == [], "htmx must run under the Content-Security-Policy"


def test_core_flow_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    try:
        page = context.new_page()
        sign_in(page, live_server, "it@edu.example.com")
        page.wait_for_url(f"{live_server}/")
        page.click("nav.portal-nav >> text=使用单位")
        page.fill("#q", "实验")
        page.click("form[role=search] button[type=submit]")
        assert "示范区实验小学" in page.inner_text("#site-table")
        assert "示范区第一中学" not in page.inner_text("#site-table")
        page.click("button:has-text('退出')")
        page.wait_for_url(re.compile(r"/login"))
    finally:
        context.close()


def test_it_staff_registers_a_unit_finds_it_and_prints_its_label(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "it@edu.example.com")
    page.goto(f"{live_server}/equipment/new")
    page.select_option("#contract", label="HT-2023-017 · 智慧教室建设项目")
    page.select_option("#site", label="示范区第一中学")
    page.select_option("#model", label="希沃 F86EA · 86 英寸交互智能平板")
    page.fill("#serial", "WEB-20261122")
    page.fill("#building", "教学楼")
    page.fill("#room", "302")
    page.click("button:has-text('保存')")
    assert "设备 WEB-20261122 已登记。" in page.inner_text("main")
    assert "质保到期日" in page.inner_text("main")

    page.click('nav.portal-nav >> text="设备"')  # the item, not the group 设备与合同
    page.wait_for_url(re.compile(r"/equipment/$"))
    page.wait_for_load_state()  # htmx listens once the page has loaded
    page.fill("#q", "WEB-2026")  # typing is enough: htmx refreshes the table
    rows = page.locator("#equipment-table tbody tr")
    expect(rows).to_have_count(1)
    assert "教学楼 302" in rows.first.inner_text()
    rows.first.locator("input[type=checkbox]").check()
    page.click("button:has-text('打印所选设备的标签')")
    page.wait_for_url(re.compile(r"/equipment/labels\?id=\d+"))
    label = page.locator("article.label")
    expect(label).to_have_count(1)
    assert "WEB-20261122" in label.inner_text() and "400-800-1234" in label.inner_text()
    qr = label.locator("img.label-qr")
    expect(qr).to_have_count(1)
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0") is True
    assert page.console_errors == []


def test_renewal_quote_asked_issued_and_accepted(browser, page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "admin@edu.example.com")
    page.goto(f"{live_server}/equipment/?q=M70100001")
    page.click("#equipment-table tbody tr >> a")
    unit_url = page.url
    page.click("text=申请续保报价")
    page.select_option("#years", "1")
    page.click("button:has-text('提交报价申请')")
    number = re.search(r"XB-\d{4}-\d{4}", page.inner_text("h1")).group(0)
    assert "已申请" in page.inner_text("main")
    quote_url = page.url

    manager = browser.new_context(locale="zh-CN")
    try:
        vendor = manager.new_page()
        sign_in(vendor, live_server, "manager@vendor.example.com")
        vendor.goto(f"{live_server}/renewals/?status=requested&lang=zh")  # an earlier test chose English
        vendor.click(f"text={number}")
        vendor.click("button:has-text('发给客户')")
        assert "报价 " + number + " 已发给客户。" in vendor.inner_text("main")
    finally:
        manager.close()

    page.goto(quote_url)
    assert "已发出" in page.inner_text("main")
    page.click("button:has-text('接受报价')")
    assert "已接受报价" in page.inner_text("main")
    page.goto(unit_url)
    main = page.inner_text("main")
    assert "已续保" in main and "已续保至" in main
    assert page.console_errors == []


def test_fault_filed_from_a_units_page_answered_resolved_and_rated(browser, page, live_server):
    """A school administrator reports a fault from the unit's page (with a photo), an agent answers and resolves
    it from the queue, and the school administrator confirms the fix with a rating."""
    import io

    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(photo, "PNG")
    sign_in(page, live_server, "school1@edu.example.com")
    page.goto(f"{live_server}/equipment/?lang=en&q=F8601")  # on a 375-pixel phone
    page.click("#equipment-table tbody tr >> a")
    page.click("text=Report a fault")
    expect(page.locator("h1")).to_have_text("Report a fault")
    page.click("label.severity-B")
    page.fill("#title", "The screen in room 302 stays black")
    page.fill("#description", "Since this morning; restarting does not help.")
    page.fill("#contact_phone", "0571-8888 1234")
    page.set_input_files("#photos", files=[{"name": "screen.png", "mimeType": "image/png", "buffer": photo.getvalue()}])
    page.click("button:has-text('Send the fault report')")
    expect(page.locator(".alert-success")).to_contain_text("is filed")
    number = re.search(r"GZ-\d{4}-\d{5}", page.inner_text("h1")).group(0)
    ticket_url = page.url
    expect(page.locator(".clock-table")).to_contain_text("Running")
    expect(page.locator(".photos img")).to_have_count(1)

    agent_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        agent = agent_context.new_page()
        agent_errors = []
        agent.on("console", lambda m: m.type == "error" and agent_errors.append(m.text))
        agent.on("pageerror", lambda e: agent_errors.append(str(e)))
        sign_in(agent, live_server, "agent@vendor.example.com")
        agent.goto(f"{live_server}/tickets/?lang=en")
        expect(agent.locator("#ticket-table")).to_contain_text(number)
        agent.click(f"text={number}")
        agent.fill("#act-respond textarea", "Please check the power cable; an engineer is on the way.")
        agent.click("#act-respond button[type=submit]")
        expect(agent.locator(".alert-success")).to_contain_text("The response is recorded.")
        agent.click("#act-resolve summary")
        agent.select_option("#act-resolve select[name=problem_kind]", "hardware")
        agent.fill("#act-resolve textarea[name=cause]", "The power board failed.")
        agent.fill("#act-resolve textarea[name=solution]", "Replaced the power board; tested.")
        agent.click("#act-resolve button[type=submit]")
        expect(agent.locator(".alert-success")).to_contain_text("The ticket is resolved")
        assert agent_errors == []
    finally:
        agent_context.close()

    page.goto(ticket_url)
    expect(page.locator(".ticket-actions h2")).to_have_text("Is it fixed?")
    page.click("#act-confirm label:has-text('5')")
    page.fill("#act-confirm textarea", "Fast and friendly.")
    page.click("#act-confirm button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("the ticket is closed with your rating")
    expect(page.locator(".page-header")).to_contain_text("Closed")
    expect(page.locator("#timeline")).to_contain_text("Replaced the power board")
    page.goto(f"{live_server}/tickets/?lang=zh")  # later tests expect Chinese
    assert page.console_errors == []


def test_complaint_answered_rejected_answered_again_and_closed_satisfied(browser, page, live_server):
    """A client admin complains, the manager routes it to an agent who answers, the client is not satisfied,
    the next round is answered, and the client closes it satisfied."""
    sign_in(page, live_server, "admin@edu.example.com")
    page.goto(f"{live_server}/complaints/new?lang=en")
    page.select_option("#category", "response_time")
    page.fill("#description", "Nobody answered the hotline on Saturday.")
    page.click("button:has-text('Send the complaint')")
    expect(page.locator(".alert-success")).to_contain_text("is received")
    number = re.search(r"TS-\d{4}-\d{4}", page.inner_text("h1")).group(0)
    complaint_url = page.url

    vendor_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        manager, agent = vendor_context.new_page(), browser.new_context(locale="zh-CN").new_page()
        sign_in(manager, live_server, "manager@vendor.example.com")
        sign_in(agent, live_server, "agent@vendor.example.com")

        def route_and_answer(text):
            manager.goto(f"{complaint_url}?lang=en")
            manager.select_option("#step-assign select", label="张伟")
            manager.click("#step-assign button[type=submit]")
            expect(manager.locator(".alert-success")).to_contain_text("The complaint is routed.")
            agent.goto(f"{complaint_url}?lang=en")
            agent.fill("#step-answer textarea", text)
            agent.click("#step-answer button[type=submit]")
            expect(agent.locator(".alert-success")).to_contain_text("The answer is sent to the client.")

        route_and_answer("The hotline was forwarded to a wrong number; it is fixed.")
        page.goto(complaint_url)
        page.fill("#step-reject textarea", "We need a backup number for weekends.")
        page.click("#step-reject button[type=submit]")
        expect(page.locator(".alert-success")).to_contain_text("reopened for another round")
        route_and_answer("A backup number is now on the portal's home page.")
        agent.context.close()
    finally:
        vendor_context.close()

    page.goto(complaint_url)
    page.click("#step-close label:has-text('5')")
    page.click("#step-close button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("the complaint is closed")
    expect(page.locator(".page-header")).to_contain_text("Closed: satisfied")
    page.goto(f"{live_server}/complaints/ledger?lang=en")
    expect(page.locator("#ledger-table")).to_contain_text(number)
    page.goto(f"{live_server}/complaints/?lang=zh")  # later tests expect Chinese
    assert page.console_errors == []


def test_manual_published_for_a_model_and_downloaded_from_a_units_page(browser, page, live_server):
    """Vendor staff publish a manual for a model and then a second version; a client's IT staff open a unit of
    that model on a phone and download the newest version, its Chinese file name kept."""
    from portal.documents.samples import pdf

    first, second = pdf("M730e quick start", "V1"), pdf("M730e quick start", "V2")
    agent_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        agent = agent_context.new_page()
        agent_errors = []
        agent.on("pageerror", lambda e: agent_errors.append(str(e)))
        sign_in(agent, live_server, "agent@vendor.example.com")
        agent.goto(f"{live_server}/documents/new?lang=en")
        expect(agent.locator("#model")).to_be_hidden()  # "everyone" is chosen: the model select waits
        agent.fill("#title_zh", "联想 M730e 快速上手指南")
        agent.fill("#title_en", "Lenovo M730e quick start")
        agent.select_option("#kind", "user")
        agent.check("input[name=target][value=model]")
        agent.select_option("#model", label="联想 M730e")
        agent.fill("#label", "V1")
        agent.set_input_files(
            "#file", files=[{"name": "M730e 快速上手指南.pdf", "mimeType": "application/pdf", "buffer": first}]
        )
        agent.click("button:has-text('Publish')")
        expect(agent.locator(".alert-success")).to_contain_text("is published")
        agent.click("#new-version summary")
        agent.fill("#new-version #label", "V2")
        agent.fill("#new-version #note", "新增开机步骤")
        agent.set_input_files(
            "#new-version #file",
            files=[{"name": "M730e 快速上手指南（第二版）.pdf", "mimeType": "application/pdf", "buffer": second}],
        )
        agent.click("#new-version button[type=submit]")
        expect(agent.locator(".alert-success")).to_contain_text("Version V2 is published")
        expect(agent.locator("#versions tbody tr")).to_have_count(2)
        assert agent_errors == []
    finally:
        agent_context.close()

    sign_in(page, live_server, "it@edu.example.com")
    page.goto(f"{live_server}/equipment/?lang=zh&q=M70100001")  # on a 375-pixel phone, as from the unit's label
    page.click("#equipment-table tbody tr >> a")
    item = page.locator("#documents li", has_text="联想 M730e 快速上手指南")
    expect(item).to_contain_text("V2")
    with page.expect_download() as caught:
        item.locator("a:has-text('下载')").click()
    download = caught.value
    assert download.suggested_filename == "M730e 快速上手指南（第二版）.pdf"
    assert open(download.path(), "rb").read() == second
    assert page.console_errors == []


def test_quarterly_inspection_recorded_with_an_issue_and_signed_off_by_the_school(browser, page, live_server):
    """An agent records the first school's overdue quarterly inspection with one issue found and opens a fault
    report for it; the school's administrator signs the record off on a phone and finds it in the history."""
    agent_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        agent = agent_context.new_page()
        agent_errors = []
        agent.on("pageerror", lambda e: agent_errors.append(str(e)))
        sign_in(agent, live_server, "agent@vendor.example.com")
        agent.goto(f"{live_server}/inspections/?state=overdue&kind=inspection&lang=en")
        row = agent.locator("#visit-table tbody tr", has_text="Demo District No. 1 Middle School").first
        expect(row).to_contain_text("Overdue")
        row.locator("a").first.click()
        agent.click("text=Record the visit")
        expect(agent.locator("h1")).to_have_text("Record the visit")
        agent.fill("#engineers", "Zhang Wei, Wang Qiang")
        first_unit = agent.locator(".unit-results tbody tr").first
        first_unit.locator("select").select_option("issue")
        first_unit.locator("input").fill("Touch frame fails in the left corner")
        agent.fill("#hardware", "All panels and computers checked.")
        agent.fill("#risks", "The wiring closet runs hot in summer.")
        agent.fill("#recommendations", "Add a fan to the wiring closet.")
        agent.click("button:has-text('Save the record')")
        expect(agent.locator(".alert-success")).to_contain_text("waits for the client's sign-off")
        expect(agent.locator("#units")).to_contain_text("Issue found")
        agent.click("#units button:has-text('Open a fault report')")
        expect(agent.locator(".alert-success")).to_contain_text("is open for this finding")
        expect(agent.locator("h1")).to_contain_text("GZ-")
        assert agent_errors == []
    finally:
        agent_context.close()

    sign_in(page, live_server, "school1@edu.example.com")  # on a 375-pixel phone
    page.goto(f"{live_server}/inspections/?state=to_sign&lang=en")
    page.locator("#visit-table tbody tr a").first.click()
    expect(page.locator("#units")).to_contain_text("Touch frame fails in the left corner")
    page.click("#sign-form label:has-text('5')")
    page.click("#sign-form button[type=submit]")
    expect(page.locator(".flashes .alert-success")).to_contain_text("the visit is signed off")
    page.goto(f"{live_server}/sites/mine?lang=en")
    expect(page.locator("#inspections")).to_contain_text("Signed off")
    expect(page.locator("#inspections")).to_contain_text("Add a fan to the wiring closet.")
    page.goto(f"{live_server}/?lang=zh")  # later tests expect Chinese
    assert page.console_errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["double-click", "retry-without-javascript"])
def test_a_fault_report_sent_twice_is_filed_once(browser, live_server, javascript):
    """With JavaScript, a double click on "send": the button waits for the answer. Without it, the same form sent
    twice (the first answer lost on the network, the browser sends it again): the portal files the report once
    and the second answer shows that one report."""
    context = browser.new_context(
        java_script_enabled=javascript, locale="en-US", viewport={"width": 375, "height": 800}
    )
    title = f"Report sent twice ({'js' if javascript else 'no js'})"
    try:
        page = context.new_page()
        sign_in(page, live_server, "it@edu.example.com")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/equipment/?lang=en&q=F8601")
        page.click("#equipment-table tbody tr >> a")
        page.click("text=Report a fault")
        page.click("label.severity-C")
        page.fill("#title", title)
        page.fill("#description", "Sent twice.")
        page.fill("#contact_phone", "0571-8888 1234")
        if javascript:
            page.dblclick("button:has-text('Send the fault report')")
        else:

            def lose_the_first_answer(route):
                route.fetch(max_redirects=0)  # reaches the portal; its answer never reaches the browser
                route.fulfill(response=route.fetch(max_redirects=0))

            page.route(
                re.compile(r".*/tickets/new$"),
                lambda route: lose_the_first_answer(route) if route.request.method == "POST" else route.continue_(),
            )
            page.click("button:has-text('Send the fault report')")
        page.wait_for_url(re.compile(r"/tickets/\d+$"))
        assert title in page.inner_text("h1")
        if not javascript:
            assert "this form had already been sent, and it counts once" in page.inner_text("main")
        page.goto(f"{live_server}/tickets/?view=all&q={title.replace(' ', '+')}")
        assert page.locator("#ticket-table tbody tr").count() == 1
    finally:
        context.close()


def bell_count(page):
    badge = page.locator("#notify-bell .bell-count")
    return int(badge.inner_text()) if badge.count() else 0


def test_a_filed_fault_rings_the_agents_bell_and_the_response_the_reporters(browser, page, live_server):
    """A school administrator files a fault; the agent's bell counts it (refreshed by htmx, no reload), the agent
    opens it from the notifications and responds; the school administrator's bell counts the response, and the
    notification leads to the ticket."""
    agent_context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        agent = agent_context.new_page()
        agent_errors = []
        agent.on("pageerror", lambda e: agent_errors.append(str(e)))
        sign_in(agent, live_server, "agent@vendor.example.com")
        agent.clock.install()  # the page's timers run when the test says so
        agent.goto(f"{live_server}/?lang=en")
        before = bell_count(agent)

        sign_in(page, live_server, "school1@edu.example.com")  # on a 375-pixel phone
        page.goto(f"{live_server}/?lang=en")
        mine = bell_count(page)
        page.goto(f"{live_server}/equipment/?lang=en&q=F8601")
        page.click("#equipment-table tbody tr >> a")
        page.click("text=Report a fault")
        page.click("label.severity-B")
        page.fill("#title", "The projector in the library flickers")
        page.fill("#description", "Every few minutes.")
        page.fill("#contact_phone", "0571-8888 1234")
        page.click("button:has-text('Send the fault report')")
        expect(page.locator(".alert-success")).to_contain_text("is filed")
        number = re.search(r"GZ-\d{4}-\d{5}", page.inner_text("h1")).group(0)
        ticket_url = page.url

        # The agent's page is not reloaded: a minute later, the bell's own request brings the new count.
        agent.clock.run_for(61_000)
        expect(agent.locator("#notify-bell .bell-count")).to_have_text(str(before + 1))
        expect(agent.locator("#notify-bell")).to_contain_text(f"{before + 1} unread notification")
        agent.click("#notify-bell")
        expect(agent.locator("h1")).to_have_text("Notifications")
        agent.click(f".notice-unread .notice-text:has-text('{number}')")
        agent.wait_for_url(re.compile(r"/tickets/\d+$"))
        expect(agent.locator("h1")).to_contain_text(number)
        agent.fill("#act-respond textarea", "An engineer will call you within the hour.")
        agent.click("#act-respond button[type=submit]")
        expect(agent.locator(".alert-success")).to_contain_text("The response is recorded.")
        assert agent_errors == []
    finally:
        agent_context.close()

    page.goto(f"{live_server}/?lang=en")
    expect(page.locator("#notify-bell .bell-count")).to_have_text(str(mine + 1))
    page.click("#notify-bell")
    notice = page.locator(f".notice-unread:has-text('{number}')")
    expect(notice).to_contain_text("the vendor responded with a first opinion")
    expect(notice).to_contain_text("Unread")
    notice.locator(".notice-text").click()
    page.wait_for_url(ticket_url)
    expect(page.locator("#timeline")).to_contain_text("An engineer will call you within the hour.")
    page.goto(f"{live_server}/notifications/?lang=en")
    expect(page.locator(f".notice:has-text('{number}: the vendor')")).not_to_have_class(re.compile("notice-unread"))
    page.goto(f"{live_server}/tickets/?lang=zh")  # later tests expect Chinese
    assert page.console_errors == []


@pytest.mark.parametrize("width", [1280, 375])
def test_notification_pages_in_both_languages_on_a_desktop_and_a_phone(browser, live_server, width):
    """The list and the preferences in Chinese and English, 1280 and 375 pixels wide; screenshots in /tmp/shots."""
    import pathlib

    shots = pathlib.Path("/tmp/shots")
    shots.mkdir(exist_ok=True)
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, "admin@edu.example.com")
        for lang in ("zh", "en"):
            page.goto(f"{live_server}/notifications/?lang={lang}")
            expect(page.locator(".notice-unread").first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
            page.screenshot(path=str(shots / f"notifications-{lang}-{width}.png"), full_page=True)
            page.goto(f"{live_server}/notifications/preferences?lang={lang}")
            expect(page.locator("input[name=quote_issued]").first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(shots / f"preferences-{lang}-{width}.png"), full_page=True)
        page.goto(f"{live_server}/notifications/?lang=zh")
    finally:
        context.close()

"""On a phone a table becomes cards: each cell a row of its own, its label beside the value and never cut."""

import pytest

from .test_flows import sign_in

PAGES = {
    "admin@edu.example.com": [
        "/equipment/",
        "/renewals/request?state=expiring",
        "/renewals/",
        "/tickets/",
        "/complaints/",
        "/complaints/ledger",
        "/inspections/",
        "/documents/",
        "/contracts/",
        "/users/",
        "/sites/",
    ],
    "manager@vendor.example.com": [
        "/equipment/",
        "/tickets/",
        "/warranty/",
        "/models/",
        "/clients/",
        "/settings/",
        "/settings/calendar",
        "/parts/",
        "/notifications/deliveries",
    ],
}

# Every card cell as wide as its card, and its label (the ::before) as wide as the text it holds.
MEASURE = """() => {
  const found = [];
  for (const td of document.querySelectorAll('.responsive-table td[data-label]')) {
    if (!td.offsetParent) continue;
    const row = td.closest('tr').getBoundingClientRect().width;
    const label = getComputedStyle(td, '::before');
    const probe = document.createElement('span');
    probe.style.cssText = `position:absolute;visibility:hidden;white-space:nowrap;font:${label.font}`;
    probe.textContent = td.dataset.label;
    document.body.appendChild(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    const cell = td.getBoundingClientRect().width;
    const room = parseFloat(label.width);
    const words = td.dataset.label.split(/\\s+/).reduce((a, w) => Math.max(a, w.length), 0);
    // a label may wrap between words, never inside one: the room must hold its longest word at least
    if (cell < row * 0.8 || (room < needed && room < needed * words / td.dataset.label.length)) {
      found.push(`${td.dataset.label}: cell ${Math.round(cell)} of ${Math.round(row)} px, label ${Math.round(room)} of ${Math.round(needed)} px`);
    }
  }
  return [...new Set(found)];
}"""


@pytest.mark.parametrize("email", sorted(PAGES))
def test_card_labels_are_never_cut_on_a_phone(page, live_server, email):
    sign_in(page, live_server, email)
    problems = {}
    for path in PAGES[email]:
        response = page.goto(live_server + path)
        assert response.status == 200, path
        found = page.evaluate(MEASURE)
        if found:
            problems[path] = found
    assert not problems, problems

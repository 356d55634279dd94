"""Reading a page as a browser does: a form's action and the values it would send (hidden fields included)."""

import html.parser


class _Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self._current, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = {
                "action": a.get("action") or "",
                "method": (a.get("method") or "get").lower(),
                "fields": {},
            }
            self.forms.append(self._current)
        elif self._current is None or tag not in ("input", "textarea", "select", "option"):
            return
        elif tag == "option" and self._select is not None:
            fields, value = self._current["fields"], a.get("value", "")
            if "selected" in a or self._select not in fields:  # the selected option, else the first
                fields[self._select] = value
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._current["fields"][self._textarea] = ""
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self._current["fields"].setdefault(a["name"], a.get("value") or "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._current["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def post_form(page, action):
    """(address, fields) of the page's POST form whose action contains ``action``: the fields as the browser would
    send them before the user types (hidden fields: CSRF, the one-time token, the version; defaults). ``action``
    "" finds the form without an action, which posts to the page's own address (the caller knows it)."""
    parser = _Forms()
    parser.feed(page if isinstance(page, str) else page.get_data(as_text=True))
    for found in parser.forms:
        if found["method"] == "post" and (action in found["action"] if action else not found["action"]):
            return found["action"], dict(found["fields"])
    raise AssertionError(f"no POST form for {action!r} on the page")


def form(page, action):
    """The fields of the page's POST form whose action contains ``action`` (see ``post_form``)."""
    return post_form(page, action)[1]

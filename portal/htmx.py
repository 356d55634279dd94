"""htmx enhances, it does not replace: one view answers a full page or, for htmx, a fragment."""

from flask import make_response, render_template, request


def is_htmx():
    h = request.headers
    return (
        h.get("HX-Request") == "true"
        and h.get("HX-Boosted") != "true"
        and h.get("HX-History-Restore-Request") != "true"
    )


def render(template, fragment=None, **context):
    """Render ``template``, or only ``fragment`` when htmx asks; caches must keep the two apart."""
    name = fragment if fragment and is_htmx() else template
    response = make_response(render_template(name, **context))
    response.vary.add("HX-Request")
    return response

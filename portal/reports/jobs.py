"""The worker's task that renders an issued document (``services.render_issued``)."""

from ..jobs import huey, in_app


@huey.task(name="render_issued")
@in_app
def render_issued_task(doc_id):
    from .services import render_issued

    doc = render_issued(doc_id)
    return None if doc is None else doc.state

"""Serving a stored file (a document, an issued PDF, a ticket photo, an attachment), once the view has checked who
may have it and recorded what the audit trail needs, in one of three ways (``PORTAL_DOWNLOADS``):

- ``stream`` (the default): the worker reads the file from storage and sends it;
- ``accel``: an empty answer with ``X-Accel-Redirect: <PORTAL_ACCEL_PREFIX>/<key>``; nginx sends the file from an
  ``internal`` location (a client cannot ask for it directly), with the headers set here;
- ``presigned`` (S3 storage only): a redirect to a link of the object storage that works for
  ``PORTAL_PRESIGN_SECONDS``, with the same Content-Type and Content-Disposition.

The generic audit hook (``portal.audit.hooks``) records a download from the headers of the answer: for a redirect,
from those the file will have (``g.file_served``).
"""

from dataclasses import dataclass

from flask import Response, abort, current_app, g, redirect, send_file

from .storage import storage
from .uploads import BY_CONTENT_TYPE, INLINE, content_disposition, protect


@dataclass(frozen=True)
class File:
    """A stored file as a view serves it."""

    key: str
    content_type: str
    filename: str
    fallback: str  # a plain ASCII name for clients that read only ``filename``
    size: int
    sha256: str
    inline: bool = False  # shown in the page (a photo) rather than saved


def of_row(item, fallback_stem):
    """The File of a row with the upload columns (a photo, a complaint's or a visit's attachment): a photo inline,
    a PDF (or anything else) as a download."""
    content_type = item.content_type if item.content_type in BY_CONTENT_TYPE else "application/octet-stream"
    kind = BY_CONTENT_TYPE.get(content_type)
    return File(
        key=item.storage_key,
        content_type=content_type,
        filename=item.filename,
        size=item.size,
        fallback=fallback_stem + (kind.extensions[0] if kind else ".bin"),
        sha256=item.sha256,
        inline=content_type in INLINE,
    )


def serve(file, *, headers=None, label="file", record=None):
    """The answer that hands ``file`` to the browser, as PORTAL_DOWNLOADS says. A file missing from storage is a
    404 (and an error in the log) when the worker streams it; nginx or the object storage answer 404 themselves in
    the other modes. ``record()``, when given, is called once the file is known to be served (a download's row)."""
    config = current_app.config
    mode = config.get("DOWNLOADS", "stream")
    disposition = content_disposition("inline" if file.inline else "attachment", file.filename, file.fallback)
    g.file_served = (file.content_type, disposition)
    handle = None
    if mode == "stream":
        try:
            handle = storage().open(file.key)
        except (FileNotFoundError, ValueError):
            current_app.logger.error("%s: %s is missing from storage", label, file.key)
            abort(404)
    if record is not None:
        try:
            record()
        except BaseException:
            if handle is not None:
                handle.close()
            raise
    if mode == "presigned":
        url = storage().presigned_url(file.key, config["PRESIGN_SECONDS"], file.content_type, disposition)
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "private, no-store"  # the link expires: never keep the redirect
        return response
    if mode == "accel":
        response = Response(b"", mimetype=file.content_type)
        response.headers["X-Accel-Redirect"] = f"{config['ACCEL_PREFIX']}/{file.key}"
    else:
        response = send_file(
            handle, mimetype=file.content_type, conditional=False, etag=file.sha256 or False, max_age=0
        )
        response.headers["Content-Length"] = str(file.size)
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return protect(
        response, file.content_type if file.inline else "application/octet-stream"
    )  # a download runs nothing

"""Photos of a fault: JPEG or PNG, checked and re-encoded by ``portal.uploads``, 5 MB each, 5 at most."""

from .. import uploads
from ..storage import stage_upload

MAX_PHOTOS = 5
MAX_BYTES = 5 * 1024 * 1024


def inspect(upload):
    """The photo's columns (re-encoded without its metadata, its file staged in storage), or UploadRefused saying
    why."""
    checked = uploads.check(upload, uploads.PHOTOS, MAX_BYTES)
    return {**stage_upload(checked), "width": checked.width, "height": checked.height}

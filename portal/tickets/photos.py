"""Photos of a fault: JPEG or PNG by their content (not their name or the browser's word), size-limited."""
import io
import warnings

from PIL import Image

from ..i18n import _l
from ..steps import Refused

MAX_PHOTOS = 5
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused, not opened
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class PhotoRejected(Refused):
    """Refused: the message says why."""


def inspect(storage):
    """Read an uploaded file and return the photo's columns, or raise PhotoRejected saying why."""
    name = (storage.filename or "photo")[-255:]
    data = storage.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PhotoRejected(_l("%(name)s is larger than 5 MB.", name=name))
    if not data:
        raise PhotoRejected(_l("%(name)s is empty.", name=name))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                if width * height > MAX_PIXELS:
                    raise PhotoRejected(_l("%(name)s has too many pixels.", name=name))
                image.verify()
    except PhotoRejected:
        raise
    except Exception:  # Pillow raises many kinds for a file that is not a whole image
        raise PhotoRejected(_l("%(name)s is not a JPEG or PNG photo.", name=name)) from None
    if kind not in FORMATS:
        raise PhotoRejected(_l("%(name)s is not a JPEG or PNG photo.", name=name))
    return {"filename": name, "content_type": FORMATS[kind], "size": len(data), "width": width, "height": height,
            "data": data}

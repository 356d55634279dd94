"""HTML to PDF with WeasyPrint (CSS paged media: page size, running footers, "page X of Y" counters).

The text font is Noto Sans SC (Chinese and Latin), copied from the npm package ``@expo-google-fonts/noto-sans-sc``
into static/vendor/fonts/ by ``make assets`` and embedded (subset) in every PDF through ``@font-face`` rules with
``file://`` URLs: a PDF never depends on the fonts installed on the machine that renders it. WeasyPrint needs
Pango (Debian: libpango-1.0-0 and libpangoft2-1.0-0) at run time.
"""

import io

from flask import current_app

from ..config import ROOT

FONT_DIR = ROOT / "static" / "vendor" / "fonts"
FONTS = {400: "NotoSansSC_400Regular.ttf", 700: "NotoSansSC_700Bold.ttf"}
FAMILY = "Portal Noto Sans SC"  # a name of our own: never matched to a font installed on the system


class FontsMissing(RuntimeError):
    pass


def font_faces():
    """The ``@font-face`` rules of the embedded font (file:// URLs)."""
    rules = []
    for weight, name in FONTS.items():
        path = FONT_DIR / name
        if not path.is_file():
            raise FontsMissing(f"{path} is missing: run `make assets` (it copies the font from node_modules).")
        rules.append(
            f"@font-face {{ font-family: '{FAMILY}'; font-weight: {weight}; font-style: normal; "
            f"src: url('{path.as_uri()}') format('truetype'); }}"
        )
    return "\n".join(rules)


def render(html, css="", base_url=None):
    """The PDF of ``html`` (a whole document) with the style sheet ``css`` after its own (which names ``FAMILY``
    for its text): (bytes, number of pages)."""
    from PIL import ImageFile
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    # WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on when it is imported, for the whole process; the portal's
    # PDFs embed no photo, and the upload checker must keep refusing truncated images: off again.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    fonts = FontConfiguration()
    stylesheets = [CSS(string=font_faces() + "\n" + css, font_config=fonts)]
    document = HTML(string=html, base_url=base_url or current_app.root_path).render(
        stylesheets=stylesheets, font_config=fonts
    )
    out = io.BytesIO()
    document.write_pdf(out)
    return out.getvalue(), len(document.pages)

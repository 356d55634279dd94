"""Headers on every response: a strict Content-Security-Policy (no inline script, no eval) and friends; HSTS when the
portal is served over HTTPS only (PORTAL_HTTPS=1)."""

from flask import current_app, request
from flask_login import current_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


HSTS = "max-age=31536000"  # a year: browsers then refuse plain http to this host, even a link typed without https

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def add_headers(response):
    h = response.headers
    for name, value in HEADERS.items():
        h.setdefault(name, value)
    if current_app.config.get("PORTAL_HTTPS"):
        h.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static" and current_user and current_user.is_authenticated:
        # Signed-in pages hold client data: never keep them in a shared or back-button cache. (Files under /static/
        # are the same for everyone: no need to load the user, and they are served while the database is down;
        # most never reach Flask: WhiteNoise serves them, with these headers and long caching, see portal.assets.)
        if "no-store" not in h.get("Cache-Control", ""):  # a file's own "private, no-store" stays (portal.downloads)
            h["Cache-Control"] = "no-store"
    return response


def init_app(app):
    from . import assets

    app.after_request(add_headers)
    static_headers = dict(HEADERS)
    if app.config.get("PORTAL_HTTPS"):
        static_headers["Strict-Transport-Security"] = HSTS
    assets.init_app(app, headers=static_headers)

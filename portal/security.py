"""Headers on every response: a strict Content-Security-Policy (no inline script, no eval) and friends."""
from flask import request
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


def add_headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static" and current_user and current_user.is_authenticated:
        # Signed-in pages hold client data: never keep them in a shared or back-button cache. (Files under /static/
        # are the same for everyone: no need to load the user, and they are served while the database is down.)
        h["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.after_request(add_headers)

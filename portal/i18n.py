"""Chinese and English: choosing the language and time zone, and formatting for the active locale.

The language is, in order: ``?lang=`` on this request (then remembered), the signed-in user's
preference, the ``portal_lang`` cookie, the browser's ``Accept-Language``, and Chinese.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import flask_babel
from babel import dates, support
from babel.dates import get_timezone_location
from flask import current_app, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import format_currency, format_decimal, format_percent, get_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape

from .extensions import babel, db

LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}
DEFAULT = "zh_Hans_CN"
COOKIE = "portal_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The time zones a site may be in: China's, first the one that covers almost every client.
ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei")


_NULL = support.NullTranslations()


def translations():
    """The active catalogue, as ``flask_babel.get_translations()`` returns it, found at the cost of a dict lookup.

    Flask-Babel resolves the request's domain, locale and catalogue anew on each call, through a dozen context-local
    look-ups; a list page calls gettext hundreds of times. The catalogue found is kept beside Flask-Babel's own state
    for the request (``g._flask_babel``) with the locale and domain objects it was found for: ``force_locale`` and
    ``refresh`` replace those objects, so the next call looks again and never uses another language's catalogue.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        return _NULL
    found = babel_state("portal_translations")
    if found is not None and found[0] is babel_state("babel_locale") and found[1] is babel_state("babel_domain"):
        return found[2]
    catalogue = flask_babel.get_translations()
    state = ctx.g._flask_babel
    state.portal_translations = (state.babel_locale, state.babel_domain, catalogue)
    return catalogue


def babel_state(name):
    """What Flask-Babel keeps for this request under ``name`` (``g._flask_babel``: its locale, time zone, domain),
    or None: read without Flask-Babel's context-local look-ups."""
    ctx = _cv_app.get(None)
    state = ctx.g.__dict__.get("_flask_babel") if ctx is not None else None
    return state.__dict__.get(name) if state is not None else None


def gettext(string, **variables):
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular, plural, num, **variables):
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def pgettext(context, string, **variables):
    text = translations().upgettext(context, string)
    return text % variables if variables else text


class LazyText(LazyString):
    """A translation made when it is used (``_l``), that is text, not markup.

    Flask-Babel's ``LazyString.__html__`` returns the string as it is, so Jinja (and markupsafe's ``escape``, used by
    WTForms for labels and errors, and Flask's session for flashed messages) would take ``_l("Unit %(serial)s …",
    serial=…)`` as safe markup and put the user's value into the page unescaped. Here the translation and every
    value in it are escaped like any other text; a value that is ``Markup`` on purpose stays markup.
    """

    def __html__(self):
        string, variables = self._args[0], self._kwargs
        text = escape(gettext(string))  # the translation alone, its placeholders not yet filled
        return text % variables if variables else text


class LazyContextText(LazyText):
    """``_lp``: a lazy translation with a context, for an English word that means two things in Chinese ("Expired":
    a quote 已过期, a warranty 已过保)."""

    def __html__(self):
        context, string = self._args
        text = escape(pgettext(context, string))
        return text % self._kwargs if self._kwargs else text


def _lp(context, string, **variables):
    return LazyContextText(pgettext, context, string, **variables)


def _l(string, **variables):
    """``lazy_gettext`` for module-level and refusal messages: every module imports this one, never Flask-Babel's
    (``make messages`` extracts ``_l``; tests/test_escaping.py checks that no module uses Flask-Babel's)."""
    return LazyText(gettext, string, **variables)


def select_locale():
    if not has_request_context():
        return DEFAULT
    if g.get("lang_choice"):
        return g.lang_choice
    if current_user.is_authenticated and current_user.locale in LANGUAGES.values():
        return current_user.locale
    if request.cookies.get(COOKIE) in LANGUAGES.values():
        return request.cookies[COOKIE]
    for tag, _quality in request.accept_languages:
        lang = tag.replace("_", "-").split("-")[0].lower()
        if lang in LANGUAGES:
            return LANGUAGES[lang]
    return DEFAULT


def select_timezone():
    """The user's site's time zone for a school administrator; otherwise the deployment's."""
    if has_request_context() and current_user.is_authenticated and current_user.site is not None:
        return current_user.site.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def remember_choice():
    """``?lang=zh|en`` on any page: use it now, and keep it (the user's preference, and a cookie)."""
    choice = LANGUAGES.get(request.args.get("lang", ""))
    if choice is None:
        return
    g.lang_choice = choice
    if current_user.is_authenticated and current_user.locale != choice:
        current_user.locale = choice
        db.session.commit()


def set_cookie(response):
    if g.get("lang_choice"):
        response.set_cookie(
            COOKIE,
            g.lang_choice,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def local_today():
    """Today's date where the user is (the deployment's or their site's time zone), not in UTC."""
    return datetime.now(active_timezone()).date()


def html_lang():
    """The value of ``<html lang>``: a BCP 47 tag."""
    return "zh-CN" if is_chinese() else "en"


def active_locale():
    """``flask_babel.get_locale()``, read from where Flask-Babel keeps it for the request once it is chosen (as
    ``force_locale`` and ``refresh`` leave it), without its context look-ups: a list asks for every row's names."""
    locale = babel_state("babel_locale")
    return locale if locale is not None else get_locale()


def active_timezone():
    """``flask_babel.get_timezone()``, read where Flask-Babel keeps it for the request once it is chosen."""
    zone = babel_state("babel_tzinfo")
    return zone if zone is not None else flask_babel.get_timezone()


# ------------------------------------------------------------------ dates in lists: CLDR's patterns found once

NAMED = ("short", "medium", "long", "full")
_PATTERNS = {}  # (locale, kind, format) → Babel's parsed pattern(s); CLDR's data, the same for every request


def _patterns(locale, kind, format):
    """What ``babel.dates.format_datetime/format_date`` look up in the locale's data on every call, looked up once:
    for a named datetime format, the glue ("{1} {0}") and the time and date patterns; else the one pattern."""
    key = (str(locale), kind, format)
    found = _PATTERNS.get(key)
    if found is None:
        if kind == "datetime" and format in NAMED:
            found = (
                dates.get_datetime_format(format, locale=locale).replace("'", ""),
                dates.parse_pattern(dates.get_time_format(format, locale=locale)),
                dates.parse_pattern(dates.get_date_format(format, locale=locale)),
            )
        elif format in NAMED:
            found = dates.parse_pattern(dates.get_date_format(format, locale=locale))
        else:
            found = dates.parse_pattern(format)
        _PATTERNS[key] = found
    return found


def format_datetime(value, format="medium", rebase=True):
    """The ``datetimeformat`` filter: Flask-Babel's ``format_datetime`` (a UTC moment shown in the user's time zone,
    by the locale's pattern), the same text, without resolving the locale, the zone and the patterns on each call."""
    if not isinstance(value, datetime) or not rebase:
        return flask_babel.format_datetime(value, format, rebase)
    format, locale, value = format or "medium", active_locale(), format_zone(value)
    found = _patterns(locale, "datetime", format)
    if format not in NAMED:
        return found.apply(value, locale)
    glue, time_pattern, date_pattern = found
    return glue.replace("{0}", time_pattern.apply(value.timetz(), locale, reference_date=value.date())).replace(
        "{1}", date_pattern.apply(value.date(), locale)
    )


def format_date(value, format="medium", rebase=True):
    """The ``dateformat`` filter: Flask-Babel's ``format_date`` (a moment's day in the user's time zone), faster."""
    if isinstance(value, datetime):
        if not rebase:
            return flask_babel.format_date(value, format, rebase)
        value = format_zone(value).date()
    elif not isinstance(value, date):
        return flask_babel.format_date(value, format, rebase)
    locale = active_locale()
    return _patterns(locale, "date", format or "medium").apply(value, locale)


def format_zone(value):
    """A UTC moment (aware, or naive meaning UTC) in the user's time zone, as Flask-Babel's ``to_user_timezone``."""
    zone = active_timezone()
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return zone.normalize(value.astimezone(zone)) if hasattr(zone, "normalize") else value.astimezone(zone)


def format_timedelta(value, granularity="second", add_direction=False, threshold=0.85):
    """The ``timedeltaformat`` filter: Flask-Babel's, with the locale read once it is chosen."""
    if isinstance(value, datetime):
        return flask_babel.format_timedelta(value, granularity, add_direction, threshold)
    return dates.format_timedelta(
        value, granularity, threshold=threshold, add_direction=add_direction, locale=active_locale()
    )


def is_chinese():
    locale = active_locale()
    return locale is None or locale.language == "zh"


def money(amount, currency="CNY"):
    """An amount of money, formatted for the active locale (¥1,234.50 / ¥1,234.50 with CNY sign)."""
    if amount is None:
        return ""
    return format_currency(Decimal(amount), currency)


def number(value):
    return "" if value is None else format_decimal(value)


def duration(minutes):
    """A span of minutes as people say it, in the active language: "30 minutes", "48 hours" / "48小时"."""
    from babel.units import format_unit

    if minutes is None:
        return ""
    locale = get_locale() or DEFAULT
    length = "short" if is_chinese() else "long"  # CLDR has only the short form in Chinese: 48小时
    if minutes % 60 == 0:
        return format_unit(minutes // 60, "duration-hour", length=length, locale=locale)
    return format_unit(minutes, "duration-minute", length=length, locale=locale)


def rate(value):
    """A rate or a discount as a percentage, to the hundredth of a percent it is kept to (6.5%, 8%, 8.25%): never
    rounded to a whole percent, which would state another rate than the contract's."""
    if value is None:
        return ""
    return format_percent(value, format="#,##0.##%")


def filesize(size):
    """A file's size for people: "856 KB", "2.4 MB" (the number formatted for the locale; the units are the same
    in Chinese and English)."""
    if size is None:
        return ""
    if size < 1024 * 1024:
        return f"{format_decimal(max(1, round(size / 1024)))} KB"
    return f"{format_decimal(size / (1024 * 1024), format='#,##0.#')} MB"


def skeleton(value, pattern):
    """A date by a CLDR skeleton ("MMMEd", "yMMM"): each locale orders and joins the parts itself (1月1日周四,
    2026年1月 / Thu, Jan 1, Jan 2026), never hand-joined pieces."""
    from babel.dates import format_skeleton

    return "" if value is None else format_skeleton(pattern, value, locale=get_locale() or DEFAULT)


def zone_label(zone):
    """A time zone as people name it, in the active language ("中国（乌鲁木齐）时间", "China (Urumqi) Time")."""
    try:
        return get_timezone_location(zone, locale=get_locale() or DEFAULT)
    except LookupError:
        return zone


def lang_url(code):
    """The current URL with ``lang=code``, keeping every other query argument."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    from urllib.parse import urlencode

    return Markup.escape(request.path + "?" + urlencode(args, doseq=True))


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel's callables, with the catalogue looked up once per request and locale (``translations``).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.before_request(remember_choice)
    app.after_request(set_cookie)
    app.jinja_env.filters["datetimeformat"] = format_datetime
    app.jinja_env.filters["dateformat"] = format_date
    app.jinja_env.filters["timedeltaformat"] = format_timedelta
    app.jinja_env.filters["currencyformat"] = money
    app.jinja_env.filters["numberformat"] = number
    app.jinja_env.filters["zonelabel"] = zone_label
    app.jinja_env.filters["skeleton"] = skeleton
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["percentformat"] = lambda value: format_percent(value)
    app.jinja_env.filters["rateformat"] = rate
    app.jinja_env.globals.update(html_lang=html_lang, lang_url=lang_url, is_chinese=is_chinese)

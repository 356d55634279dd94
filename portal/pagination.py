"""Lists, a page at a time, at any depth for the cost of the first page; and counts that stop counting.

Every list pages with :func:`paginate`. A list names its order (an :class:`Order`: mapped columns, the last one the
id); a page is then a *seek*: the rows after (or before) the last (first) row shown, found from the order's index
instead of counting off the rows before it as OFFSET does. The "next" and "previous" links carry that row's sort
key values in a cursor (``after=…`` / ``before=…``): compact base64 of a small JSON list, checked value by value
against the order's columns; a cursor that does not parse, names another order or holds a value out of its column's
bounds is ignored (the first page), never an error. A cursor only narrows the user's own scoped query, so whatever
it holds shows nothing outside that scope.

``?page=N`` (the links of the page-number pager that came before) keeps working up to :data:`OFFSET_PAGES`, by
OFFSET; a larger N is that page, whose "next" link seeks on from there; past the end of the list, an empty page.

Counting: "26–50 of 1,234" needs the number of rows; it is counted only up to :data:`COUNT_MAX` (``SELECT count(*)
FROM (… LIMIT COUNT_MAX + 1)``) and shown as "more than 10,000" above. Each page runs the same queries whatever
the size of the list: the rows (one query a segment, below) and the count.

A nullable leading column (a unit's end of coverage, a ticket's due time) sorts its NULLs last. An index cannot
seek across "the rest of the dates, then the NULLs", so such an order is read as two segments, the non-null rows
then the null ones, each an index range with its LIMIT: two queries, whether or not the first fills the page (a
page that starts in the last segment reads only that one). A leading boolean (open first) is read the same way,
open rows then closed ones, each compared on the other keys: a row comparison that starts with a boolean bound to
one value by the query (the closed tickets) makes PostgreSQL estimate one row and pick a plan that reads them all.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
from flask import current_app, request

from .bounds import DATE_MAX, DATE_MIN, ID_MAX, PAGE_MAX, has_control, page_number, whole_number
from .extensions import db

COUNT_MAX = 10_000  # rows counted at most; above, "more than 10,000"
OFFSET_PAGES = 20  # ?page=N by OFFSET up to this page
CURSOR_MAX = 600  # characters of a cursor: anything longer is garbage
TEXT_MAX = 400  # characters of a text value in a cursor


@dataclass(frozen=True)
class Order:
    """A list's order: mapped columns, most significant first, all ascending or all descending; the last is unique
    and never NULL (the id). Only the first may be nullable; its NULLs sort last either way."""

    name: str  # in the cursor: a cursor of another order (another sort of the same list) is ignored
    keys: tuple
    desc: bool = False
    nullable: bool = field(init=False)
    boolean: bool = field(init=False)

    def __post_init__(self):
        columns = [key.property.columns[0] for key in self.keys]
        assert not any(c.nullable for c in columns[1:]), f"{self.name}: only the first key may be NULL"  # nosec B101  # checks an Order declared in code, at import
        object.__setattr__(self, "nullable", bool(columns[0].nullable) and len(self.keys) > 1)
        object.__setattr__(self, "boolean", _python_type(self.keys[0]) is bool and len(self.keys) > 1)

    def clauses(self, keys=None, backward=False):
        descending = self.desc != backward
        return [k.desc() if descending else k.asc() for k in (keys or self.keys)]

    def sql(self):
        """ORDER BY clauses of the whole order (NULLs last), for an OFFSET page or anything not paged."""
        clauses = self.clauses()
        if self.nullable:
            clauses[0] = clauses[0].nulls_last()
        return clauses

    def segments(self):
        """(condition, the keys compared within it, whether a cursor's first value is in it) of each segment, in
        the list's order."""
        first = self.keys[0]
        if self.nullable:
            return [
                (first.is_not(None), self.keys, lambda v: v is not None),
                (first.is_(None), self.keys[1:], lambda v: v is None),
            ]
        if self.boolean:
            return [
                (first == flag, self.keys[1:], lambda v, flag=flag: v is flag)
                for flag in ((True, False) if self.desc else (False, True))
            ]
        return [(None, self.keys, lambda v: True)]

    # ---------------------------------------------------------------- cursors

    def encode(self, position, row):
        values = [_plain(getattr(row, k.key)) for k in self.keys]
        text = json.dumps([self.name, position, *values], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    def decode(self, token):
        """(position, values) of a cursor, or None if it is not one of this order's."""
        if not token or len(token) > CURSOR_MAX:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError):  # also UnicodeDecodeError and json's errors
            return None
        if not isinstance(data, list) or len(data) != len(self.keys) + 2 or data[0] != self.name:
            return None
        try:
            position = whole_number(data[1], 1, PAGE_MAX * 100)
            values = tuple(
                _value(k, v, nullable=(i == 0 and self.nullable))
                for i, (k, v) in enumerate(zip(self.keys, data[2:], strict=True))
            )
        except (TypeError, ValueError):
            return None
        return position, values


def _plain(value):
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return value


def _python_type(key):
    kind = key.property.columns[0].type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    return kind.python_type


def _value(key, value, nullable):
    """A cursor's value for ``key``, checked as its column's bounds check a form's; ValueError if it is not one."""
    if value is None:
        if nullable:
            return None
        raise ValueError("NULL")
    kind = _python_type(key)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        return whole_number(value, 0, ID_MAX)
    elif kind is datetime:
        if isinstance(value, str) and len(value) <= 40:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None and DATE_MIN <= moment.date() <= DATE_MAX:
                return moment
    elif kind is date:
        if isinstance(value, str) and len(value) == 10:
            day = date.fromisoformat(value)
            if DATE_MIN <= day <= DATE_MAX:
                return day
    elif kind is time:
        if isinstance(value, str) and len(value) <= 15:
            return time.fromisoformat(value)
    elif kind is str:
        if isinstance(value, str) and len(value) <= TEXT_MAX and not has_control(value):
            return value
    raise ValueError(value)


# ---------------------------------------------------------------- the page


@dataclass
class Page:
    items: list
    start: int  # the position of the first row, from 1
    per_page: int
    has_prev: bool
    has_next: bool
    total: int | None  # the number of rows when known and at most COUNT_MAX; else None
    more_than: int | None = None  # COUNT_MAX when there are more rows than that
    next_args: dict = field(default_factory=dict)
    prev_args: dict = field(default_factory=dict)
    here_args: dict = field(default_factory=dict)  # what asked for this page (for a list that reloads itself)

    @property
    def end(self):
        return self.start + len(self.items) - 1

    @property
    def single(self):
        return not (self.has_prev or self.has_next)

    def __iter__(self):
        return iter(self.items)


def offset_page(pagination):
    """A Flask-SQLAlchemy ``Pagination`` (a short list paged by number, such as the warranty overview's clients) as
    a :class:`Page`, for the same pager."""
    return Page(
        items=list(pagination.items),
        start=pagination.first or 1,
        per_page=pagination.per_page,
        has_prev=pagination.has_prev,
        has_next=pagination.has_next,
        total=pagination.total,
        next_args={"page": pagination.next_num} if pagination.has_next else {},
        prev_args={"page": pagination.prev_num} if pagination.has_prev else {},
        here_args={"page": pagination.page} if pagination.page > 1 else {},
    )


def paginate(query, order, per_page=None, args=None):
    """The page of ``query`` (a scoped, filtered select of one model) in ``order`` that the request asks for:
    ``after`` or ``before`` a cursor, ``page`` = N ≤ OFFSET_PAGES, or the first."""
    args = request.args if args is None else args
    per_page = per_page or current_app.config["PAGE_SIZE"]
    query = query.order_by(None)
    after, before = order.decode(args.get("after")), order.decode(args.get("before"))
    here = {}
    if after:
        here = {"after": args.get("after")}
        position, values = after
        rows = _seek(query, order, values, per_page + 1)
        items, has_prev, has_next, start = rows[:per_page], True, len(rows) > per_page, position
    elif before and before[0] > 1:
        here = {"before": args.get("before")}
        position, values = before
        rows = _seek(query, order, values, per_page + 1, backward=True)
        if len(rows) >= per_page:
            items, has_prev, has_next = rows[:per_page][::-1], len(rows) > per_page, True
            start = max(position - per_page, 1) if has_prev else 1
        else:  # fewer rows before it than a page: the first page, full
            here = {}
            rows = _seek(query, order, None, per_page + 1)
            items, has_prev, has_next, start = rows[:per_page], False, len(rows) > per_page, 1
    else:
        number = min(page_number(args), OFFSET_PAGES)
        if number > 1:  # past the end: an empty page (its "first" link leads back)
            rows = _all(query.order_by(*order.sql()).offset((number - 1) * per_page).limit(per_page + 1))
            here = {"page": number}
        else:
            rows = _seek(query, order, None, per_page + 1)
        start = (number - 1) * per_page + 1
        items, has_prev, has_next = rows[:per_page], number > 1, len(rows) > per_page
    total, more_than = count(query), None
    if total > COUNT_MAX:
        total, more_than = None, COUNT_MAX
    return Page(
        items=items,
        start=start,
        per_page=per_page,
        has_prev=has_prev,
        has_next=has_next,
        total=total,
        more_than=more_than,
        here_args=here,
        next_args={"after": order.encode(start + len(items), items[-1])} if has_next else {},
        prev_args={"before": order.encode(start, items[0])} if has_prev and items else {},
    )


def count(query, limit=None):
    """The number of rows of ``query``, counted up to ``limit`` (COUNT_MAX) + 1: more than ``limit`` is ``limit`` + 1."""
    limit = COUNT_MAX if limit is None else limit
    entity = query.column_descriptions[0]["entity"]
    ids = query.with_only_columns(entity.id).order_by(None).limit(limit + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(ids))


def _all(query):
    return list(db.session.scalars(query).unique())


def _seek(query, order, values, limit, backward=False):
    """Up to ``limit`` rows after (before) the row with the sort key ``values`` (None: from the start), in the
    order of reading: the index range of the cursor's segment, then of each segment after it (each read, whether or
    not the page is full already, so that every page asks the same queries)."""
    segments = order.segments()
    if backward:
        segments = segments[::-1]
    if values is not None:  # the cursor's segment, and those after it
        segments = segments[[holds(values[0]) for _c, _k, holds in segments].index(True) :]
    entity = query.column_descriptions[0]["entity"]
    clauses = order.clauses(None, backward)  # every key, the NULL one too: the index's order, for the planners
    # The rows of the page's ids with what the list shows of them (the query's loader options), not filtered again:
    # a search's conditions, asked twice, may make the planner read the whole table to match 25 ids.
    load = sa.select(entity).options(*query._with_options)
    rows = []
    for n, (condition, keys, _holds) in enumerate(segments):
        part = query if condition is None else query.where(condition)
        if n == 0 and values is not None:
            part = part.where(_beyond(order, keys, values[-len(keys) :], backward))
        # The page's ids first (an index range and its LIMIT), then their rows with what they show: a planner that
        # misjudges how many rows the range holds (PostgreSQL's row comparisons) can then never join them all.
        ids = part.with_only_columns(entity.id).order_by(*clauses).limit(limit)
        rows += _all(load.where(entity.id.in_(ids)).order_by(*clauses))
    return rows[:limit]


def _beyond(order, keys, values, backward):
    """The rows after (before) ``values`` in ``keys``: one row comparison, an index range on both engines."""
    binds = [sa.literal(v, k.type) for k, v in zip(keys, values, strict=True)]
    left, right = (keys[0], binds[0]) if len(keys) == 1 else (sa.tuple_(*keys), sa.tuple_(*binds))
    return left < right if order.desc != backward else left > right

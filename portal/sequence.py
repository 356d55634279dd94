"""Numbers that are unique and never reused, per year (XB-2026-0001, GZ-2026-00001): a counter row per year,
locked while it moves, so that two workers never hand out the same number."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db


class YearCounter:
    """Mixin for a counter table: the last number given out in each year."""

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


def next_in_year(counter_model, year):
    """The next value of ``counter_model``'s counter for ``year`` (a model with ``year`` and ``last`` columns)."""
    locked = sa.select(counter_model).where(counter_model.year == year).with_for_update()
    counter = db.session.execute(locked).scalar_one_or_none()
    if counter is None:  # the year's first number: two workers may race to create the row; one insert wins
        try:
            with db.session.begin_nested():
                db.session.add(counter_model(year=year, last=0))
        except sa.exc.IntegrityError:
            pass
        counter = db.session.execute(locked).scalar_one()
    counter.last += 1
    db.session.flush()
    return counter.last

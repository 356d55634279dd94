"""Column types shared by every model."""

from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as naive UTC (the same on SQLite and PostgreSQL), read back as aware UTC.

    Aware values are converted to UTC before storing; naive values are refused, so that a
    local time can never be stored by mistake.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

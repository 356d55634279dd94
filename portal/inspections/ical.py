"""An iCalendar (RFC 5545) feed of visits as all-day events, written by the ``icalendar`` library (escaping, line
folding, CRLF and the UTC form of DTSTAMP are its work, not hand-written)."""

from datetime import timedelta

from icalendar import Calendar, Event


def calendar(name, events, stamp, host):
    """The feed, as bytes. ``events``: dicts with uid, day (date), summary, description, location, url; ``stamp``:
    when it was made, an aware datetime (written in UTC whatever the server's own time zone)."""
    feed = Calendar()
    feed.add("prodid", "-//After-sales service portal//Visits//ZH")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("method", "PUBLISH")
    feed.add("x-wr-calname", name)
    for e in events:
        event = Event()
        event.add("uid", f"{e['uid']}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", e["day"])
        event.add("dtend", e["day"] + timedelta(days=1))
        event.add("summary", e["summary"])
        event.add("description", e["description"])
        event.add("location", e["location"])
        event.add("url", e["url"])
        event.add("transp", "TRANSPARENT")
        feed.add_component(event)
    return feed.to_ical()

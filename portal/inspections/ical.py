"""An iCalendar (RFC 5545) feed of visits: all-day events, lines folded at 75 octets, text escaped, CRLF."""
from datetime import timedelta


def escape(text):
    """A TEXT value (RFC 5545 3.3.11); any line break, CR alone included, stays inside the value."""
    return (str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line):
    """Lines longer than 75 octets continue on the next line after a space, never inside a UTF-8 character."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not parts else 74):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def calendar(name, events, stamp, host):
    """``events``: dicts with uid, day (date), summary, description, location, url."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//After-sales service portal//Visits//ZH",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(name)}"]
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{e['uid']}@{host}",
            f"DTSTAMP:{stamp.strftime('%Y%m%dT%H%M%SZ')}",
            f"DTSTART;VALUE=DATE:{e['day'].strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(e['day'] + timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{escape(e['summary'])}",
            f"DESCRIPTION:{escape(e['description'])}",
            f"LOCATION:{escape(e['location'])}",
            f"URL:{e['url']}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"

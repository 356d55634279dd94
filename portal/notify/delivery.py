"""Sending what the outbox holds: each due delivery claimed by one worker, sent, and marked (or retried with
back-off). Filled in by the delivery work; the job worker calls these two functions."""


def deliver_due(now=None, limit=200):
    """Send every delivery that is due; return counts {"sent": n, "retry": n, "failed": n}."""
    raise NotImplementedError


def send_digests(now=None):
    """Send each user's daily digest of the notifications they chose to receive that way; return how many."""
    raise NotImplementedError

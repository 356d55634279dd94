"""One way to refuse a step: every rule a user's request breaks raises ``Refused`` with a message in the user's
language (a lazy translation is fine: it is rendered in the request that shows it)."""


class Refused(Exception):
    """A step the object's state, the rules or the input do not allow; ``message`` says why."""

    status = 400

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message

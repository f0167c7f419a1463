"""Error types the command line turns into one-line messages (UsageError: exit code 2; RunIncomplete: 1)."""


class UsageError(ValueError):
    """Bad input from the user: a message naming the field and what is allowed."""


class RunIncomplete(RuntimeError):
    """A run stored what it could but some work failed for good: the message says what, and how to finish it."""

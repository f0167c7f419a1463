"""Error types the command line turns into one-line messages (exit code 2)."""


class UsageError(ValueError):
    """Bad input from the user: a message naming the field and what is allowed."""

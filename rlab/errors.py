"""Error types the command line turns into one-line messages (UsageError: exit code 2; RunIncomplete: 1)."""


class UsageError(ValueError):
    """Bad input from the user: a message naming the field and what is allowed."""


class RunIncomplete(RuntimeError):
    """A run stored what it could but some work failed for good: the message says what, and how to finish it."""


def is_decimal(text: str) -> bool:
    """Whether `text` is a non-negative integer in ASCII digits (`str.isdigit` also takes "²", which `int` refuses)."""
    return text.isascii() and text.isdigit()


def control_characters(text: str) -> bool:
    """Whether `text` holds a control character (a newline, a tab, ESC...), which no file we write may splice in."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)

"""User-facing errors: a bad name, a missing dataset or checkpoint. The CLI prints them without a traceback."""


class LmmclError(ValueError):
    """A mistake the user can fix; the message says what was wrong and how to fix it."""


class MissingResourceError(LmmclError, FileNotFoundError):
    """Weights or data that are not available offline."""

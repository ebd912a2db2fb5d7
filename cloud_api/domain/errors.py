"""Domain errors services raise; server/exceptions.py maps each to its HTTP status."""


class NotFoundError(LookupError):
    """404: the thing named does not exist."""


class ConflictError(RuntimeError):
    """409: the request does not fit the current state (e.g. a decision on a claim not yet assessed)."""

"""The store's exceptions: one root, and the few cases callers tell apart.

Every message names the record and the rule it broke, in words a person at
the front desk can act on.
"""


class StoreError(Exception):
    """Root of every error the store raises on purpose."""


class NotFound(StoreError):
    """A record does not exist in this practice."""


class InvalidInput(StoreError, ValueError):
    """Input broke a rule: a bad phone number, a past time, an empty body.

    ``field`` names the input at fault, so a form can show the error beside it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class WrongState(StoreError):
    """The record's status does not allow the action, such as cancelling a sent
    message."""


class CrossPracticeLink(StoreError, ValueError):
    """Two records of different practices were about to be linked."""


class ConfigError(StoreError):
    """``config.toml`` or a setting is invalid; the message names file and key."""


class SchemaError(StoreError):
    """The database was made by a newer frontdesk, or cannot be migrated."""

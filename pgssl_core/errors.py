"""Exception types shared across the library.

Every message is a single line a user can act on; the CLI prints it as ``error: <message>``
and the app shows it without a traceback.
"""


class PgsslError(Exception):
    """Base class of every error the library raises on purpose."""


class TileError(PgsslError):
    """A file cannot be used as a tile (unreadable, unsupported, too large, empty...)."""


class CatalogError(PgsslError):
    """A project catalog operation failed (missing tile, unknown project...)."""


class StaleVersionError(CatalogError):
    """A label save was based on an older version than the one stored (another tab saved first)."""


class ModelFileError(PgsslError):
    """A model or checkpoint file cannot be loaded."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (its type name when it has none), for one-line messages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

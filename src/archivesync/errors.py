"""Errors a user can act on, each with the exit code the CLI gives it.

The CLI turns these into a one-line message and an exit code; anything else is a bug and keeps
its traceback.
"""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_QUOTA = 75  # EX_TEMPFAIL: try again after the quota resets


class ArchiveSyncError(Exception):
    """A failure explained to the user in one message."""

    exit_code = EXIT_ERROR


class ConfigError(ArchiveSyncError):
    """Missing key, bad endpoint, missing database directory, bad schedule file."""


class AuthError(ConfigError):
    """No OAuth token, an unreadable token file, or a token the server refused."""


class ApiError(ArchiveSyncError):
    """The API refused a request for a reason that retrying will not fix."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class NotFoundError(ApiError):
    """A channel, playlist or video the API does not know."""


class TranscriptParseError(ArchiveSyncError):
    """A caption file that is not valid WebVTT or SubRip."""


class QuotaExhausted(ArchiveSyncError):
    """The daily quota is spent (by the API's word or our own budget): try after the reset."""

    exit_code = EXIT_QUOTA


class TransientApiError(ApiError):
    """Still failing after every retry: network, 5xx, rate limits, cut-short bodies."""


class Interrupted(ArchiveSyncError):
    """SIGTERM/SIGINT asked the run to stop between pages."""


class LeaseHeld(ArchiveSyncError):
    """Another writer holds the database."""


class DaemonGone(ConfigError):
    """The daemon stopped while running a request someone was following."""


class ReplicationError(ArchiveSyncError):
    """Litestream could not start, sync, read its replica or restore from it."""


# --- the index, the analysts' commands and search ---------------------------------------


class EmptyQuery(ArchiveSyncError):
    """The query has no words once normalised."""

    exit_code = EXIT_USAGE


class MissingIndex(ArchiveSyncError):
    """The database predates the search index (its migrations have not run yet)."""


class DatasetteMissing(ArchiveSyncError):
    """The optional extra is not installed."""


class NotWritable(ConfigError):
    """This process may not write the index or one of the files beside it."""


class SqlRefused(ArchiveSyncError):
    """The statement would change something: refused before it ran."""


class SqlError(ArchiveSyncError):
    """SQLite could not run the statement (syntax, unknown table...)."""


class ExportError(ArchiveSyncError):
    """Unknown table or view, or an output file that cannot be written."""


class CatalogError(ArchiveSyncError):
    """A table or view asked for that the index does not hold."""


class UsersFileError(ConfigError):
    """The users file is missing, unreadable or malformed, or a name or password is refused.

    `reason` says which (a key the console turns into Japanese): "file", "name", "reserved",
    "display_name", "role", "password", "exists", "missing", "self", "not_staff".
    """

    def __init__(self, message: str, reason: str = "file"):
        super().__init__(message)
        self.reason = reason

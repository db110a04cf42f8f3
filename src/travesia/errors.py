"""Errors a user can cause and fix: they reach the command line as one clear message, exit code 2."""


class UserError(Exception):
    """Bad input from the user: a file, a row or key, what was expected.

    The command line prints the message (no traceback) and exits with code 2.
    """

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)

"""User-facing errors: one clear line on stderr, exit code 2, no traceback."""


class UsageError(Exception):
    """Bad user input (option, override, benchmark, cluster config, data file...)."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

"""The error tree. Library code raises these; only the CLI and the UI turn them into messages.

Every message says what to do next, so a user who sees one knows how to fix it.
"""


class CoachError(Exception):
    """Base class: anything the user can fix. The CLI prints the message and exits 1."""

    exit_code = 1


class ConfigError(CoachError):
    """The TOML config is invalid (unknown key, wrong type, bad value)."""

    exit_code = 2


class UsageError(CoachError):
    """Bad input on the command line or in a batch file."""

    exit_code = 2


class UnknownSectionError(UsageError):
    """A section id or name that the roadmap does not have."""


class IndexNotBuiltError(CoachError):
    def __init__(self, detail: str = "") -> None:
        msg = 'index not built: run "coach index"'
        super().__init__(f"{msg} ({detail})" if detail else msg)


class EmbedderMismatchError(CoachError):
    def __init__(self, built_with: str, configured: str) -> None:
        super().__init__(
            f"the index was built with embedder {built_with!r} but the config asks for {configured!r}; "
            'vectors from two embedders cannot be mixed: rebuild with "coach index --rebuild"'
        )


class ModelError(CoachError):
    """A model file is missing, corrupt or cannot be loaded."""

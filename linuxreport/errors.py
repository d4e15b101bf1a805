"""The few exceptions the CLI turns into one clear line and an exit code."""

import click


class LinuxReportError(click.ClickException):
    """Base of every error a user can cause or fix; exits with status 1."""

    exit_code = 1


class ConfigError(LinuxReportError):
    """The YAML config is missing, unreadable or invalid."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class BuildError(LinuxReportError):
    """A build could not produce a complete site; the previous output is kept."""


class StateError(LinuxReportError):
    """The state store could not be read or written."""


class PublishError(LinuxReportError):
    """A publish could not be planned or carried out."""

"""Errors of the worker: only a TransientError is worth a retry."""


class WorkerError(Exception):
    pass


class TransientError(WorkerError):
    """Worth retrying later (site down, endpoint refusing, database busy). The failure is already recorded."""


class RulesUnavailable(WorkerError):
    """No valid ruleset could be loaded; the reason is in the message."""

"""Errors of the worker: only a TransientError is worth a retry."""


class WorkerError(Exception):
    pass


class TransientError(WorkerError):
    """Worth retrying later (site down, endpoint refusing, database busy). The failure is already recorded;
    `steps` are what the work done before it still hands on (a batch's other items)."""

    def __init__(self, *args, steps=None):
        super().__init__(*args)
        self.steps = list(steps or [])


class RulesUnavailable(WorkerError):
    """No valid ruleset could be loaded; the reason is in the message."""

"""Database tables (SQLModel) and the session. Knows settings, nothing else of ours."""

from models.agency import Agency, Office, Source
from models.deficiency import Deficiency
from models.evaluation import Evaluation, Finding
from models.health import Health
from models.notice import DeliveryAttempt, Digest, Notice, Silence
from models.polling import ExpectedReport, PollEvent
from models.report import Report, Snapshot

__all__ = ["Health", "Agency", "Office", "Source", "Report", "Snapshot", "Evaluation", "Finding", "Deficiency", "Notice", "DeliveryAttempt", "Silence", "Digest",
           "ExpectedReport", "PollEvent"]

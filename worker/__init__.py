"""Where the pieces meet: the pipeline steps, the Celery app and tasks, the embedded runner.

Each step takes an id, loads rows, calls one pure function of documents / rules /
notifications, persists the result under a natural unique key, commits, and returns the
next steps. Who runs the next steps (Celery or the in-process queue) is the dispatcher's job.
"""

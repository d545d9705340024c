"""The `nianbao` command: entry points only; the work happens in worker/ and below."""

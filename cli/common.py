"""Helpers shared by the command modules: settings and report files, with clear errors."""

from __future__ import annotations

from pathlib import Path

import typer


def settings_or_exit():
    from config.settings import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)


def read_report_file(path: Path):
    from documents.errors import DocumentError
    from documents.reader import read_document

    try:
        return read_document(path.read_bytes(), name=path.name)
    except FileNotFoundError:
        typer.echo(f"{path}: no such file", err=True)
        raise typer.Exit(2)
    except DocumentError as exc:
        typer.echo(f"{path}: {exc.status}: {exc.reason}", err=True)
        raise typer.Exit(1)

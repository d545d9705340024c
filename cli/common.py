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
    from documents.reader import read_path

    from worker.parsing import ocr_options

    settings = settings_or_exit()
    try:
        # Stops reading at documents.reader.DEFAULT_MAX_BYTES; a scan is read by OCR here and now.
        return read_path(path, ocr=ocr_options(settings) if settings.ocr else None)
    except FileNotFoundError:
        typer.echo(f"{path}：文件不存在", err=True)
        raise typer.Exit(2)
    except IsADirectoryError:
        typer.echo(f"{path}：这是一个目录，不是文件", err=True)
        raise typer.Exit(2)
    except DocumentError as exc:
        typer.echo(f"{path}：{exc.zh.rstrip('。')}", err=True)
        raise typer.Exit(1)


def date_option(value: str | None, option: str):
    """A YYYY-MM-DD command-line value as a date (None when not given); a clear exit otherwise."""
    from datetime import date

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"{option} {value}：不是日期，请写作 YYYY-MM-DD（如 2026-03-31）", err=True)
        raise typer.Exit(2)

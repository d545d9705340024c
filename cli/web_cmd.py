"""`nianbao web`: serve the dashboard and API; `nianbao web hash-password`: make a NIANBAO_WEB_USERS hash."""

from __future__ import annotations

import os

import typer

web_app = typer.Typer(help="The supervisory office's dashboard and JSON API.", invoke_without_command=True)


@web_app.callback()
def web(ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 in a container)."),
        port: int = typer.Option(8000, help="Port."),
        workers: int = typer.Option(1, help="Server processes.")):
    """Serve the dashboard (users from NIANBAO_WEB_USERS, tokens from NIANBAO_WEB_TOKENS)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from cli.common import settings_or_exit
    from models.db import migrate
    from web.auth import AuthConfigError, accounts_from_env

    settings = settings_or_exit()
    try:
        accounts = accounts_from_env()
    except AuthConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    if not accounts.passwords and not accounts.tokens:
        typer.echo("no users: set NIANBAO_WEB_USERS (hashes from `nianbao web hash-password`)", err=True)
        raise typer.Exit(2)
    if workers > 1 and not os.environ.get("NIANBAO_WEB_SECRET"):
        typer.echo("--workers > 1 needs NIANBAO_WEB_SECRET (each process would sign sessions with its own key)", err=True)
        raise typer.Exit(2)
    migrate(settings.db_url)
    uvicorn.run("web.main:app", host=host, port=port, workers=workers, proxy_headers=True)


@web_app.command("hash-password")
def hash_password_cmd(password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                                   help="The password (asked for when not given).")):
    """Print the pbkdf2 hash to put in NIANBAO_WEB_USERS=name:HASH:role."""
    from web.auth import hash_password

    typer.echo(hash_password(password))


@web_app.command("hash-token")
def hash_token_cmd(token: str = typer.Option(..., prompt=True, hide_input=True, help="The API token.")):
    """Print the sha256 of an API token, for NIANBAO_WEB_TOKENS=name:SHA256:role."""
    from web.auth import hash_token

    typer.echo(hash_token(token))

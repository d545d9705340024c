"""`nianbao web`: serve the dashboard and API; `nianbao web hash-password`: make a NIANBAO_WEB_USERS hash."""

from __future__ import annotations

import os

import typer

web_app = typer.Typer(help="The supervisory office's dashboard and JSON API.", invoke_without_command=True)


def _demo_environment() -> None:
    """Point this process at the demo's data (running the demo first if it has not run) and
    make a demo account whose password is printed: `make web` opens a dashboard with something in it."""
    import secrets

    from rich.console import Console

    from cli.demo import DEMO_HOME, DEMO_TODAY, EXAMPLES, run_demo
    from models.types import pin_clock
    from notifications.dates import cn_date
    from web.auth import hash_password

    console = Console()
    if not (DEMO_HOME / "nianbao.db").is_file():
        console.print("演示数据库还不存在，先运行一次演示（nianbao demo）……")
        if run_demo(console) != 0:
            raise typer.Exit(2)
    pin_clock(DEMO_TODAY)  # what the dashboard records (acks, re-polls) stays on the demo's day
    os.environ.update(NIANBAO_HOME=str(DEMO_HOME.resolve()), NIANBAO_TODAY=DEMO_TODAY.isoformat(),
                      NIANBAO_AGENCIES_FILE=str(EXAMPLES / "agencies.yaml"), NIANBAO_ALLOW_PRIVATE_HOSTS="1",
                      NIANBAO_BROKER_URL="", NIANBAO_DATABASE_URL="")
    if not os.environ.get("NIANBAO_WEB_USERS"):
        password = secrets.token_urlsafe(9)
        os.environ["NIANBAO_WEB_USERS"] = f"demo:{hash_password(password)}:admin"
        console.print(f"演示账户：用户名 [bold]demo[/bold]，密码 [bold]{password}[/bold]（管理员；每次启动重新生成）")
    console.print(f"看板使用演示数据（{DEMO_HOME}/，演示日期 {cn_date(DEMO_TODAY)}）。")


@web_app.callback()
def web(ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 in a container)."),
        port: int = typer.Option(8000, help="Port."),
        workers: int = typer.Option(1, help="Server processes."),
        demo: bool = typer.Option(False, "--demo", help="Serve the demo's data (var/demo, running `nianbao demo` "
                                                        "first if needed) with a demo account whose password is printed.")):
    """Serve the dashboard (users from NIANBAO_WEB_USERS, tokens from NIANBAO_WEB_TOKENS)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    if demo:
        if workers > 1:
            typer.echo("--demo 只用一个进程（--workers 1）", err=True)
            raise typer.Exit(2)
        _demo_environment()
        typer.echo(f"打开 http://{host}:{port}/ （Ctrl+C 停止）")

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
        typer.echo("没有账户：请设置 NIANBAO_WEB_USERS（密码的散列值由 `nianbao web hash-password` 生成），"
                   "或用 `nianbao web --demo` 查看演示数据", err=True)
        raise typer.Exit(2)
    if workers > 1 and not os.environ.get("NIANBAO_WEB_SECRET"):
        typer.echo("--workers 大于 1 时须设置 NIANBAO_WEB_SECRET（否则各进程用各自的密钥签署登录状态）", err=True)
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

"""The ASGI entry point for uvicorn (`nianbao web`): web.main:app."""

from web.app import create_app

app = create_app()

"""Dependencies of the HTTP layer, wired in one place (FastAPI Annotated aliases)."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.config import Settings


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Engine = Annotated[AsyncEngine, Depends(_engine)]
AppSettings = Annotated[Settings, Depends(_settings)]

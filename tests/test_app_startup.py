"""What an application does when it starts."""

from __future__ import annotations

import dataclasses

from workforce.app import create_app, freeze_startup_objects
from workforce.context import AppContext
from workforce.settings import Settings


def test_only_a_served_application_freezes_its_startup_objects(
    settings: Settings, ctx: AppContext
) -> None:
    assert freeze_startup_objects not in create_app(settings, ctx).on_startup
    served = dataclasses.replace(settings, environment="production")
    assert freeze_startup_objects in create_app(served, ctx).on_startup

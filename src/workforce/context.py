"""The application context: long-lived collaborators shared by services.

Built once in ``create_app`` (or by a CLI command) and handed to services explicitly, so that
services stay free of framework state and tests can build one around a temporary directory.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from workforce.security.keys import Keyring, Secrets
from workforce.security.pii import PiiVault
from workforce.settings import Settings

if TYPE_CHECKING:
    from workforce.policy.catalog import Catalog
    from workforce.rules.engine import RuleSet


@dataclasses.dataclass
class AppContext:
    """Settings, keys and versioned policy data of one running service."""

    settings: Settings
    keyring: Keyring
    secrets: Secrets

    @classmethod
    def open(cls, settings: Settings) -> AppContext:
        """Open the keyring and secrets named by ``settings`` (creating them on first use)."""
        keys_dir = settings.effective_keys_dir
        return cls(
            settings=settings, keyring=Keyring.open(keys_dir), secrets=Secrets.open(keys_dir)
        )

    @functools.cached_property
    def vault(self) -> PiiVault:
        """Keyed hashing and encryption of ID numbers."""
        return PiiVault(self.secrets.pii_index_key, self.secrets.pii_enc_key)

    @functools.cached_property
    def rules(self) -> RuleSet:
        """The training rule set in force (packaged defaults plus ``WORKFORCE_RULES_DIR``)."""
        from workforce.rules.engine import DEFAULT_RULES_DIR, load_ruleset  # noqa: PLC0415

        if self.settings.rules_dir is None:
            return load_ruleset()
        return load_ruleset([DEFAULT_RULES_DIR, self.settings.rules_dir])

    @functools.cached_property
    def catalog(self) -> Catalog:
        """Certificate types and positions in force."""
        from workforce.policy.catalog import load_catalog  # noqa: PLC0415

        return load_catalog()

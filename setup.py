"""Build of the one compiled piece: ``workforce.ledger._leafcheck`` (the rest is in pyproject.toml).

The extension is optional: without a C compiler the build skips it and ``ledger verify`` uses
the pure-Python check (``workforce.ledger.fastcheck``), which accepts the same entries.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "workforce.ledger._leafcheck",
            sources=["src/workforce/ledger/_leafcheck.c"],
            optional=True,  # a failed build is a warning, not an install error
        )
    ]
)

"""Build of the compiled pieces of ``ledger verify`` (the rest of the build is in pyproject.toml).

Both extensions are optional: without a C compiler (or, for ``_merklehash``, without OpenSSL's
libcrypto and its headers) the build skips them with a warning and ``ledger verify`` uses the
pure-Python code (``workforce.ledger.fastcheck``, ``hashlib``), which accepts the same ledgers.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(  # the entry check of a chunk: no dependency
            "workforce.ledger._leafcheck",
            sources=["src/workforce/ledger/_leafcheck.c"],
            optional=True,  # a failed build is a warning, not an install error
        ),
        Extension(  # the leaf and node hashes of a chunk, with OpenSSL's SHA-256
            "workforce.ledger._merklehash",
            sources=["src/workforce/ledger/_merklehash.c"],
            libraries=["crypto"],
            optional=True,
        ),
    ]
)

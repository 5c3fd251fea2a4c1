"""The ban ledger: an append-only, Merkle-proven, signed log of ban entries.

The pure core (``errors``, ``merkle``, ``note``, ``checkpoint``, ``entry``) imports only the
standard library, ``cryptography`` and ``msgspec``; ``store`` and ``service`` add the database.
"""

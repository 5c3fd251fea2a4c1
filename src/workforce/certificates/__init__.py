"""Certificates: W3C Verifiable Credentials 2.0 secured as ``vc+jwt`` and Bitstring Status Lists.

``credential`` builds, signs and verifies credentials (VC Data Model 2.0, VC-JOSE-COSE, EdDSA);
``status_list`` implements the W3C Bitstring Status List v1.0; ``verify`` combines both into the
offline verdict used by the public verify route and ``workforce cert verify``. All three modules
are pure: they import only the standard library, cryptography, msgspec and PyJWT.
"""

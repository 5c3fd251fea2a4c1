"""Practitioners: registration, lookup by ID number, visibility, the regulator's reveal."""

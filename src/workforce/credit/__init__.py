"""Integrity (credit) files: events, appeals, grades, public summaries, random inspections."""

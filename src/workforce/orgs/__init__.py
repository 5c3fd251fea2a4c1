"""Organisations (regulators, training bases, institutions, admins) and their API clients."""

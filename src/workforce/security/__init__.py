"""Authentication, authorization, keys and the protection of ID numbers."""

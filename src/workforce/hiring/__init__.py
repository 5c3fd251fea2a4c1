"""The hiring gate: admission checks, employments, yearly re-checks and alerts."""

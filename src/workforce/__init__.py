"""托育从业人员培训、认证与信用登记系统 — the childcare workforce registry."""

__version__ = "0.1.0"

"""The access log: who read or looked up whose record, when and why."""

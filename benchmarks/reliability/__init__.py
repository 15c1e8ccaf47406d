"""``make reliability``: load, fuzzing and fault-injection harnesses (docs/reliability.md)."""

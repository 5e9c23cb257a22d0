"""Deterministic Temporal workflow code: imports ``pushsecret.api`` and ``temporalio`` only."""

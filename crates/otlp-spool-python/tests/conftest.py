"""Shared fixtures of the pytest suite (the real OpenTelemetry SDK against a real Spool)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import otlp_spool  # noqa: E402


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[otlp_spool.Spool]:
    """A spool on a fresh directory, shut down after the test."""
    s = otlp_spool.Spool(tmp_path / "spool")
    try:
        yield s
    finally:
        if not s.closed:
            s.shutdown(timeout=10)


def run_python(code: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter (the same one as the tests), bounded in time."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def files_under(root: Path) -> list[str]:
    """Every file below ``root``, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

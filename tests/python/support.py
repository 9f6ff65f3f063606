"""Helpers the coe Python tests share (pytest puts this folder on sys.path)."""

from __future__ import annotations

import subprocess


def without_timings(value):
    """`value` without the fields that differ run to run (durations)."""
    timing = {"timing_ms", "latency_ms", "first_token_ms", "elapsed_ms"}
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in timing}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def run_tool(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], input=input, capture_output=True, text=True, timeout=120)


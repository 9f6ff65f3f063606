"""Importing only the analysis never loads the network library."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys, time
started = time.perf_counter()
import coe
report = coe.Engine().analyze(open(sys.argv[1]).read())
took = time.perf_counter() - started
maps = open('/proc/self/maps').read()
print('consult' if 'coe._consult' in sys.modules else 'analysis-only')
print('curl' if 'libcurl' in maps else 'no-curl')
print(report['consensus']['level'])
print(took)
if len(sys.argv) > 2:
    coe.Circle
    maps = open('/proc/self/maps').read()
    print('consult' if 'coe._consult' in sys.modules else 'analysis-only')
    print('curl' if 'libcurl' in maps else 'no-curl')
"""


def run(*args: str) -> list:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_analysis_alone_loads_no_curl_and_starts_quickly(source_dir):
    out = run(str(source_dir / "examples" / "panel.json"))
    assert out[:2] == ["analysis-only", "no-curl"]
    assert out[2]  # the consensus level
    assert float(out[3]) < 5.0


def test_the_circle_loads_the_consultation_on_first_use(source_dir):
    out = run(str(source_dir / "examples" / "panel.json"), "circle")
    assert out[:2] == ["analysis-only", "no-curl"]
    assert out[4:] == ["consult", "curl"]

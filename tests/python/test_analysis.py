"""coe.Engine: the same reports as `coe analyze --json`, errors, threads."""

from __future__ import annotations

import json
import threading
import time

import pytest

import coe
from support import run_tool, without_timings


def cli_reports(coe_tool, path) -> list:
    done = run_tool(coe_tool, "analyze", path, "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_example_panel_report_equals_the_cli(engine, coe_tool, source_dir):
    panel = source_dir / "examples" / "panel.json"
    [expected] = cli_reports(coe_tool, panel)
    from_text = engine.analyze(panel.read_text(encoding="utf-8"))
    from_dict = engine.analyze(json.loads(panel.read_text(encoding="utf-8")))
    assert without_timings(from_text) == without_timings(expected)
    assert without_timings(from_dict) == without_timings(expected)
    assert from_text["consensus"]["level"] == expected["consensus"]["level"]
    assert set(from_text["timing_ms"]) == set(expected["timing_ms"])


def test_mtbench_reports_equal_the_cli_in_input_order(engine, coe_tool, mtbench_file, mtbench_lines):
    expected = cli_reports(coe_tool, mtbench_file)
    assert len(expected) == len(mtbench_lines) == 80
    many = engine.analyze_many(mtbench_lines, threads=2)
    assert [r["id"] for r in many] == [r["id"] for r in expected]
    assert [without_timings(r) for r in many] == [without_timings(r) for r in expected]
    # one at a time, from dicts, gives the same
    for i in (0, 41, 79):
        assert without_timings(engine.analyze(json.loads(mtbench_lines[i]))) == without_timings(expected[i])


def test_analyze_many_takes_any_iterable_and_threads(engine, mtbench_lines):
    some = mtbench_lines[:6]
    one_thread = engine.analyze_many(iter(some), threads=1)
    every_core = engine.analyze_many((json.loads(line) for line in some), threads=0)
    assert [without_timings(r) for r in one_thread] == [without_timings(r) for r in every_core]
    assert engine.analyze_many([]) == []


def test_invalid_panels_raise_input_error_naming_the_field(engine):
    with pytest.raises(coe.InputError, match=r"responses\[1\]\.confidence: 1\.5 is outside \[0, 1\]"):
        engine.analyze(
            {"responses": [{"expert": "a", "content": "x"}, {"expert": "b", "content": "y", "confidence": 1.5}]}
        )
    with pytest.raises(coe.InputError, match="invalid JSON"):
        engine.analyze('{"responses": [')
    with pytest.raises(coe.InputError, match="panel: not JSON"):
        engine.analyze({"responses": {1, 2}})
    with pytest.raises(ValueError):  # InputError is a ValueError too
        engine.analyze({"responses": []})


def test_analyze_many_names_the_failing_panel(engine, mtbench_lines):
    panels = [mtbench_lines[0], '{"responses": "no"}', mtbench_lines[1], "[]"]
    with pytest.raises(coe.InputError, match=r"^panels\[1\]: .*\(and 1 more panels failed\)$"):
        engine.analyze_many(panels)
    results = engine.analyze_many(panels, errors="include")
    assert [sorted(r) == ["error", "index"] for r in results] == [False, True, False, True]
    assert results[1]["index"] == 1 and results[1]["error"].startswith("panels[1]: ")
    assert results[2]["id"] == json.loads(mtbench_lines[1])["id"]
    with pytest.raises(coe.InputError, match="errors: expected 'raise' or 'include'"):
        engine.analyze_many(panels, errors="ignore")
    with pytest.raises(coe.InputError, match=r"threads: expected 0 \(every core\) to 1024, not -1"):
        engine.analyze_many(panels, threads=-1)
    with pytest.raises(coe.InputError, match="panels: expected an iterable of panels .* not a str"):
        engine.analyze_many(mtbench_lines[0])


def test_engine_configuration_errors(tmp_path):
    with pytest.raises(coe.ConfigError, match="nosuchbackend"):
        coe.Engine(backend="nosuchbackend")
    with pytest.raises(coe.ConfigError, match="missing.json"):
        coe.Engine(config=tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"backend": 7}')
    with pytest.raises(coe.ConfigError, match="backend"):
        coe.Engine(config=bad)
    with pytest.raises(coe.InputError, match="backend: expected a name"):
        coe.Engine(backend=3)
    with pytest.raises(coe.InputError, match="plugin_path: expected a path"):
        coe.Engine(plugin_path=[3])


def test_forced_backend_and_its_reports(mtbench_lines):
    scalar = coe.Engine(backend="scalar")
    assert scalar.backend == "scalar"
    report = scalar.analyze(mtbench_lines[3])
    assert report["backend"] == "scalar"


def test_backends_and_performance_report(engine, mtbench_lines):
    engine.analyze(mtbench_lines[0])
    backends = engine.backends()
    active = [b for b in backends if b["status"] == "active"]
    assert [b["name"] for b in active] == [engine.backend]
    assert "scalar" in [b["name"] for b in backends]
    assert {"name", "id", "version", "file", "source", "abi", "required_features", "score", "status", "reason",
            "ops", "probe", "isolation", "worker_restarts", "device"} <= set(backends[0])
    assert all(b["device"] is None or {"type", "name", "driver", "memory_bytes"} <= set(b["device"]) for b in backends)
    report = engine.performance_report()
    assert isinstance(report, dict) and report
    text = engine.prometheus()
    assert "# TYPE" in text and "coe_" in text


def test_many_threads_share_one_engine(engine, mtbench_lines):
    expected = [without_timings(engine.analyze(line)) for line in mtbench_lines[:16]]
    results: dict = {}
    errors: list = []

    def work(t: int) -> None:
        try:
            for round in range(3):
                for i in range(t % 4, 16, 4):
                    results[(t, round, i)] = without_timings(engine.analyze(mtbench_lines[i]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 8 * 3 * 4
    for (_, _, i), report in results.items():
        assert report == expected[i]


def test_the_gil_is_released_while_the_engine_works(engine, mtbench_lines):
    # A Python thread keeps running while another waits in analyze_many: it
    # would barely move if the engine held the GIL.
    def spin(seconds: float) -> int:
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            n += 1
        return n

    alone = spin(0.3) / 0.3
    stop = threading.Event()
    calls = []

    def analyse_until_stopped() -> None:  # as long as the main thread measures
        while not stop.is_set():
            engine.analyze_many(mtbench_lines, threads=1)
            calls.append(1)

    worker = threading.Thread(target=analyse_until_stopped)
    start = time.perf_counter()
    worker.start()
    n = 0
    while time.perf_counter() - start < 0.5:
        n += spin(0.01)
    elapsed = time.perf_counter() - start
    stop.set()
    worker.join()
    assert calls, "no analysis finished while the main thread was measured"
    assert n / elapsed > 0.25 * alone, (n / elapsed, alone)

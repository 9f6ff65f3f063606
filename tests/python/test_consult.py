"""coe.Circle against the fake provider server: sync, async, streamed,
cancelled, faults, errors, and the same result as `coe consult --json`."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time

import pytest

import coe
from support import run_tool, without_timings

QUESTION = "How should we cache a slow read-heavy API?"


@pytest.fixture(scope="module")
def experts(fake_provider) -> dict:
    return {
        "experts": [
            fake_provider.expert("gpt", "openai", "reply=cache_a"),
            fake_provider.expert("llama", "ollama", "reply=cache_b"),
            fake_provider.expert("claude", "anthropic", "reply=rewrite"),
        ]
    }


@pytest.fixture(scope="module")
def circle(experts):
    return coe.Circle(experts)


def test_consult_equals_the_cli(circle, experts, coe_tool, tmp_path):
    result = circle.consult(QUESTION, id="q1")
    experts_file = tmp_path / "experts.json"
    experts_file.write_text(json.dumps(experts))
    done = run_tool(coe_tool, "consult", QUESTION, "--experts", experts_file, "--json", "--id", "q1")
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    assert without_timings(result) == without_timings(expected)
    assert [a["status"] for a in result["answers"]] == ["ok", "ok", "ok"]
    assert result["consultation"]["quorum_met"] is True
    assert result["final_answer_from"] == "consensus"
    assert circle.experts == ["gpt", "llama", "claude"]


def test_consult_async(circle):
    result = asyncio.run(circle.consult_async(QUESTION, quorum=2))
    assert result["consultation"]["answered"] >= 2
    assert "consensus" in result


def test_stream_yields_the_events_in_order(circle):
    async def collect():
        return [event async for event in circle.stream(QUESTION)]

    events = asyncio.run(collect())
    types = [e["type"] for e in events]
    assert types[-1] == "final"
    assert types.count("expert_done") == 3
    assert "consensus" in types and "expert_started" in types
    assert events[-1]["consultation"]["answered"] == 3
    first_done = types.index("expert_done")
    assert all(t != "final" for t in types[:first_done])


def test_faults_are_answers_with_a_status(fake_provider):
    circle = coe.Circle(
        {
            "experts": [
                fake_provider.expert("ok", "openai", "reply=cache_a"),
                fake_provider.expert("broken", "openai", "status=400"),
                fake_provider.expert("flaky", "gemini", "reply=cache_c,status=503,fail=1"),
            ]
        }
    )
    result = circle.consult(QUESTION, quorum=2)
    by_name = {a["expert"]: a for a in result["answers"]}
    assert by_name["ok"]["status"] == "ok"
    assert by_name["broken"]["status"] == "http_error" and by_name["broken"]["http_status"] == 400
    assert by_name["flaky"]["status"] == "ok" and by_name["flaky"]["retries"] >= 1


def test_a_missed_quorum_raises_with_the_answers_so_far(fake_provider):
    circle = coe.Circle(
        {
            "experts": [
                fake_provider.expert("ok", "openai", "reply=cache_a"),
                fake_provider.expert("down", "ollama", "status=500", max_retries=0),
            ]
        }
    )
    with pytest.raises(coe.ConsultationError, match=r"1 of 2 experts answered; the quorum of 2 was not met") as e:
        circle.consult(QUESTION)
    assert [a["status"] for a in e.value.answers] == ["ok", "http_error"]
    assert e.value.result["consultation"]["quorum_met"] is False

    async def streamed():
        seen = []
        with pytest.raises(coe.ConsultationError):
            async for event in circle.stream(QUESTION):
                seen.append(event["type"])
        return seen

    assert asyncio.run(streamed())[-1] == "final"


def test_deadline_times_out_the_slow_expert(fake_provider):
    circle = coe.Circle(
        {
            "experts": [
                fake_provider.expert("fast", "openai", "reply=cache_a"),
                fake_provider.expert("slow", "openai", "stall_first=5000", first_byte_timeout_ms=8000),
            ]
        }
    )
    started = time.monotonic()
    result = circle.consult(QUESTION, quorum=1, deadline=3)
    assert time.monotonic() - started < 3
    assert [a["status"] for a in result["answers"]] == ["ok", "cancelled"]
    with pytest.raises(coe.ConsultationError) as e:
        circle.consult(QUESTION, deadline=0.5)
    assert [a["status"] for a in e.value.answers] == ["ok", "timeout"]


def test_cancelling_the_task_cancels_the_consultation(fake_provider):
    circle = coe.Circle(
        {"experts": [fake_provider.expert("stuck", "openai", "stall_first=8000", first_byte_timeout_ms=9000)]}
    )

    async def cancel_soon():
        task = asyncio.ensure_future(circle.consult_async(QUESTION))
        await asyncio.sleep(0.3)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    assert asyncio.run(cancel_soon()) < 1.0
    # the request was cancelled, not abandoned: the circle counts it so
    def cancelled() -> int:
        return circle.performance_report()["experts"]["stuck"]["failures"].get("cancelled", 0)

    deadline = time.monotonic() + 5
    while cancelled() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cancelled() == 1

    async def leave_the_stream_early():
        async for event in circle.stream(QUESTION):
            if event["type"] == "expert_started":
                break

    started = time.monotonic()
    asyncio.run(leave_the_stream_early())
    assert time.monotonic() - started < 2.0
    deadline = time.monotonic() + 5
    while cancelled() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cancelled() == 2


def test_consultation_input_errors(circle):
    with pytest.raises(coe.InputError, match="the question is empty"):
        circle.consult("  ")
    with pytest.raises(coe.InputError, match="no expert named 'nobody'"):
        circle.consult(QUESTION, experts=["nobody"])
    with pytest.raises(coe.InputError, match="quorum: expected a whole number >= 1"):
        circle.consult(QUESTION, quorum=0)
    with pytest.raises(coe.InputError, match="deadline: expected seconds > 0"):
        circle.consult(QUESTION, deadline=-1)
    with pytest.raises(coe.InputError, match="synthesize: no expert named 'chair'"):
        asyncio.run(circle.consult_async(QUESTION, synthesize="chair"))


def test_circle_configuration_errors(tmp_path, fake_provider):
    with pytest.raises(coe.ConfigError, match=r"experts\[0\]"):
        coe.Circle({"experts": [{"name": "x", "provider": "nosuch", "base_url": "http://127.0.0.1:1", "model": "m"}]})
    with pytest.raises(coe.ConfigError, match="missing.json"):
        coe.Circle(tmp_path / "missing.json")
    with pytest.raises(coe.ConfigError, match="expected a path to an experts file or a dict"):
        coe.Circle(42)
    with pytest.raises(coe.ConfigError, match="nosuchbackend"):
        coe.Circle({"experts": [fake_provider.expert("a")]}, backend="nosuchbackend")


def test_api_keys_never_appear(fake_provider, monkeypatch):
    monkeypatch.setenv("COE_PY_TEST_KEY", "sk-secret-value-123")
    circle = coe.Circle(
        {"experts": [fake_provider.expert("a", "openai", "auth=wrong-key,reply=cache_a", api_key_env="COE_PY_TEST_KEY",
                                          max_retries=0)]}
    )
    with pytest.raises(coe.ConsultationError) as e:
        circle.consult(QUESTION)
    assert e.value.answers[0]["status"] == "auth_error"
    assert "sk-secret-value-123" not in str(e.value) + json.dumps(e.value.result) + circle.prometheus()


def test_compat_consult_experts_enhanced(experts):
    from coe.compat import consult_experts_enhanced

    result = asyncio.run(
        consult_experts_enhanced("Caching", QUESTION, "tests", tags=["api"], response_timeout=20, experts=experts)
    )
    assert result["status"] == "completed"
    assert result["query"]["title"] == "Caching" and result["query"]["requester"] == "tests"
    assert [r["expert_type"] for r in result["responses"]] == ["gpt", "llama", "claude"]
    aggregation = result["aggregation"]
    assert aggregation["total_responses"] == 3
    assert aggregation["aggregated_answer"] and aggregation["aggregated_answer_from"] == "consensus"
    assert aggregation["consensus_level"] == aggregation["advanced_consensus"]["consensus"]["level"]
    assert result["performance"]["rust_accelerated"] is True
    assert result["performance"]["core"] == "coe " + aggregation["core"]
    assert result["performance"]["total_time"] >= 0
    with pytest.raises(coe.InputError, match="wait_for_responses=False is not supported"):
        asyncio.run(consult_experts_enhanced("t", "c", "r", wait_for_responses=False, experts=experts))


def test_interrupting_consult_cancels_the_consultation(fake_provider):
    circle = coe.Circle(
        {"experts": [fake_provider.expert("stuck", "openai", "stall_first=8000", first_byte_timeout_ms=9000)]}
    )
    main = threading.get_ident()
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        circle.consult(QUESTION)
    assert time.monotonic() - started < 2.0
    deadline = time.monotonic() + 5
    while "cancelled" not in circle.performance_report()["experts"]["stuck"]["failures"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert circle.performance_report()["experts"]["stuck"]["failures"]["cancelled"] == 1

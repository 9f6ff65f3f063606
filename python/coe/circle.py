"""coe.Circle: ask several experts at once and analyse their answers.

The native circle (``coe._consult``) owns one network thread shared by all
its consultations.  ``consult`` blocks the calling thread (without holding
the GIL) until the network thread reports the result; ``consult_async`` and ``stream`` run on an asyncio loop:
the network thread hands each event and the result to the loop with
``loop.call_soon_threadsafe``, and cancelling the awaiting task cancels the
consultation.  Every method may be called from any thread.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import threading
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _consult
from .errors import ConsultationError, InputError

__all__ = ["Circle"]

Experts = Union[str, "os.PathLike[str]", Mapping[str, Any]]
Deadline = Union[None, float, int, datetime.timedelta]


def _options(
    quorum: Optional[int],
    deadline: Deadline,
    review: bool,
    reviewers: Optional[Sequence[str]],
    synthesize: Optional[str],
    system: Optional[str],
    experts: Optional[Sequence[str]],
    id: Optional[str],
) -> Dict[str, Any]:
    """The native keyword arguments, checked (InputError names the bad one)."""
    if quorum is not None and (isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1):
        raise InputError(f"quorum: expected a whole number >= 1, not {quorum!r}")
    deadline_ms: Optional[float] = None
    if deadline is not None:
        seconds = deadline.total_seconds() if isinstance(deadline, datetime.timedelta) else deadline
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise InputError(f"deadline: expected seconds > 0 (or a timedelta), not {deadline!r}")
        deadline_ms = float(seconds) * 1000.0
    for name, names in (("reviewers", reviewers), ("experts", experts)):
        if names is not None and (isinstance(names, str) or not all(isinstance(n, str) for n in names)):
            raise InputError(f"{name}: expected a list of expert names, not {names!r}")
    return {
        "quorum": quorum,
        "deadline_ms": deadline_ms,
        "review": bool(review),
        "reviewers": list(reviewers or []),
        "synthesize": synthesize or "",
        "system": system or "",
        "experts": list(experts or []),
        "id": id or "",
    }


def _checked(result: Dict[str, Any]) -> Dict[str, Any]:
    """The result, or ConsultationError when the quorum was not met."""
    c = result.get("consultation", {})
    if c.get("quorum_met", True):
        return result
    failures = "; ".join(
        f"{a['expert']}: {a['status']}: {a.get('error', '')}" for a in result.get("answers", []) if a.get("status") != "ok"
    )
    message = (
        f"{c.get('answered')} of {c.get('asked')} experts answered; the quorum of {c.get('quorum')} was not met"
        + (f" ({failures})" if failures else "")
    )
    raise ConsultationError(message, result)


def _settle(ok: bool, text: str) -> Dict[str, Any]:
    if not ok:
        raise ConsultationError(text)
    return _checked(json.loads(text))


def _hand_to(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> None:
    """Runs callback(*args) on `loop` (called on the network thread)."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the loop was closed meanwhile: nobody waits any more
        pass


class Circle:
    """A circle of experts (LLM providers over HTTP) and the engine that
    analyses their answers.

    ``experts``: a path to an experts file or a dict in its format
    (``{"experts": [{"name", "provider", "base_url", "model",
    "api_key_env"?, ...}]}``, see docs/consulting.md).  ``backend``,
    ``config`` and ``plugin_path`` build the circle's engine as for
    ``coe.Engine``.  Raises coe.ConfigError naming what is wrong.

    Consultation keywords (all methods): ``quorum`` (return once that many
    answered; None: all), ``deadline`` (seconds or a timedelta for the whole
    consultation; None: 120 s), ``review`` (peer review), ``reviewers``
    (names; implies review), ``synthesize`` (the chairman's name),
    ``system`` (the system prompt for experts without their own),
    ``experts`` (names to ask; None: all), ``id`` (the result's id).
    A result that misses its quorum raises coe.ConsultationError, which
    carries the result and the answers so far; a bad keyword or an unknown
    expert name raises coe.InputError.
    """

    def __init__(
        self,
        experts: Experts,
        *,
        backend: Optional[str] = None,
        config: Optional[Union[str, "os.PathLike[str]"]] = None,
        plugin_path: Optional[Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]] = None,
    ) -> None:
        self._native = _consult.Circle(experts, backend, config, plugin_path)

    @property
    def experts(self) -> List[str]:
        """The configured experts' names, in configuration order."""
        return list(self._native.experts)

    @property
    def backend(self) -> str:
        """The backend the circle's engine analyses with."""
        return str(self._native.backend)

    def consult(
        self,
        question: str,
        *,
        quorum: Optional[int] = None,
        deadline: Deadline = None,
        review: bool = False,
        reviewers: Optional[Sequence[str]] = None,
        synthesize: Optional[str] = None,
        system: Optional[str] = None,
        experts: Optional[Sequence[str]] = None,
        id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Asks every expert at once, waits, and returns the result: the dict
        ``coe consult --json`` prints (the report's fields, "answers",
        "consultation", "final_answer", ...).  The wait can be interrupted
        (KeyboardInterrupt), which cancels the consultation."""
        options = _options(quorum, deadline, review, reviewers, synthesize, system, experts, id)
        finished = threading.Event()
        outcome: List[Tuple[bool, str]] = []

        def complete(ok: bool, text: str) -> None:  # on the network thread
            outcome.append((ok, text))
            finished.set()

        pending = self._native.start(question, None, complete, **options)
        try:
            finished.wait()
        except BaseException:
            pending.cancel()
            raise
        return _settle(*outcome[0])

    async def consult_async(
        self,
        question: str,
        *,
        quorum: Optional[int] = None,
        deadline: Deadline = None,
        review: bool = False,
        reviewers: Optional[Sequence[str]] = None,
        synthesize: Optional[str] = None,
        system: Optional[str] = None,
        experts: Optional[Sequence[str]] = None,
        id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """``consult`` on the running asyncio loop, without blocking it.
        Cancelling the awaiting task cancels every request still out."""
        options = _options(quorum, deadline, review, reviewers, synthesize, system, experts, id)
        loop = asyncio.get_running_loop()
        future: "asyncio.Future[Tuple[bool, str]]" = loop.create_future()

        def complete(ok: bool, text: str) -> None:
            if not future.done():
                future.set_result((ok, text))

        pending = self._native.start(question, None, lambda ok, text: _hand_to(loop, complete, ok, text), **options)
        try:
            ok, text = await future
        except asyncio.CancelledError:
            pending.cancel()
            raise
        return _settle(ok, text)

    async def stream(
        self,
        question: str,
        *,
        quorum: Optional[int] = None,
        deadline: Deadline = None,
        review: bool = False,
        reviewers: Optional[Sequence[str]] = None,
        synthesize: Optional[str] = None,
        system: Optional[str] = None,
        experts: Optional[Sequence[str]] = None,
        id: Optional[str] = None,
    ) -> AsyncIterator[Dict[str, Any]]:
        """Yields the consultation's events as dicts, in order, as they
        happen: expert_started, expert_retry, expert_done, expert_failed,
        consensus (the report of the answers so far), review_done, ..., and
        last "final" (the whole result), as ``coe consult --stream`` prints
        them.  Leaving the loop early (or cancelling the task) cancels the
        consultation; a missed quorum raises coe.ConsultationError after the
        final event."""
        options = _options(quorum, deadline, review, reviewers, synthesize, system, experts, id)
        loop = asyncio.get_running_loop()
        queue: "asyncio.Queue[Tuple[str, bool, str]]" = asyncio.Queue()
        pending = self._native.start(
            question,
            lambda text: _hand_to(loop, queue.put_nowait, ("event", True, text)),
            lambda ok, text: _hand_to(loop, queue.put_nowait, ("done", ok, text)),
            **options,
        )
        finished = False
        try:
            while True:
                kind, ok, text = await queue.get()
                if kind == "event":
                    yield json.loads(text)
                    continue
                finished = True
                _settle(ok, text)
                return
        finally:
            if not finished:
                pending.cancel()

    def performance_report(self) -> Dict[str, Any]:
        """Per expert since the circle was built: requests, failures by class,
        retries, latency percentiles, tokens, cost, breaker state."""
        return dict(self._native.performance_report())

    def prometheus(self) -> str:
        """The performance report in the Prometheus text format."""
        return str(self._native.prometheus())

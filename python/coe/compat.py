"""The original Python system's entry point, on this engine.

Users of the original Circle of Experts called

    result = await manager.consult_experts_enhanced(title=..., content=..., requester=...)

and read ``result["aggregation"]``, ``result["performance"]["rust_accelerated"]``
and so on.  ``coe.compat.consult_experts_enhanced`` takes the same arguments
(plus ``experts=``, the circle to ask) and returns a dict of the same shape,
so switching is a one-line import change.  docs/python.md lists what maps to
what; the engine's own report is kept whole under
``result["aggregation"]["advanced_consensus"]``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .errors import ConsultationError, InputError

__all__ = ["consult_experts_enhanced"]


def _name(expert: Any) -> str:
    # the original passed ExpertType enum members; their value is the name
    return str(getattr(expert, "value", expert))


def _responses(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    report_experts = {e["expert"]: e for e in result.get("experts", [])}
    responses = []
    for a in result.get("answers", []):
        if a.get("status") != "ok":
            continue
        e = report_experts.get(a["expert"], {})
        responses.append(
            {
                "expert_type": a["expert"],
                "content": a.get("content", ""),
                "confidence": e.get("weight", 1.0),
                "recommendations": [],
                "provider": a.get("provider"),
                "model": a.get("model"),
                "response_time": a.get("latency_ms", 0.0) / 1000.0,
                "cluster": e.get("cluster"),
                "outlier": e.get("outlier", False),
            }
        )
    return responses


async def consult_experts_enhanced(
    title: str,
    content: str,
    requester: str,
    query_type: Any = "general",
    priority: Any = "medium",
    context: Optional[Dict[str, Any]] = None,
    constraints: Optional[List[str]] = None,
    deadline_hours: Optional[float] = None,
    tags: Optional[List[str]] = None,
    wait_for_responses: bool = True,
    response_timeout: float = 300.0,
    min_responses: int = 1,
    required_experts: Optional[Sequence[Any]] = None,
    enable_streaming: bool = False,
    *,
    experts: Union[str, Mapping[str, Any], Any],
) -> Dict[str, Any]:
    """Asks the circle ``experts`` (a coe.Circle, a path to an experts file,
    or a dict in its format) the question ``title`` + ``content`` and
    returns the original system's result shape (see docs/python.md).

    ``response_timeout`` is the consultation's deadline (seconds),
    ``required_experts`` the experts to ask (names or enum members whose
    value is a name), ``min_responses`` the answers needed (fewer raise
    coe.ConsultationError with the answers so far).  ``query_type``,
    ``priority``, ``context``, ``constraints``, ``deadline_hours`` and
    ``tags`` are recorded in ``result["query"]``; ``enable_streaming`` is
    accepted and has no effect (use ``Circle.stream``).
    ``wait_for_responses=False`` (submit now, collect later) has no
    equivalent here and raises coe.InputError.
    """
    from .circle import Circle

    if not wait_for_responses:
        raise InputError(
            "wait_for_responses=False is not supported: the circle always waits for its answers "
            "(use coe.Circle.stream to see them as they arrive)"
        )
    if isinstance(min_responses, bool) or not isinstance(min_responses, int) or min_responses < 1:
        raise InputError(f"min_responses: expected a whole number >= 1, not {min_responses!r}")
    started = time.perf_counter()
    circle = experts if isinstance(experts, Circle) else Circle(experts)
    question = f"{title}\n\n{content}" if title else content
    names = [_name(e) for e in required_experts] if required_experts else None
    query_id = str(uuid.uuid4())
    result = await circle.consult_async(question, deadline=response_timeout, experts=names, id=query_id)
    consultation = result["consultation"]
    if consultation["answered"] < min_responses:
        raise ConsultationError(
            f"{consultation['answered']} of {consultation['asked']} experts answered; "
            f"min_responses is {min_responses}",
            result,
        )
    elapsed = time.perf_counter() - started
    report_ok = "consensus" in result
    analysis_s = result["timing_ms"]["total"] / 1000.0 if report_ok else 0.0
    core = result.get("backend", circle.backend)
    aggregation: Dict[str, Any] = {
        "total_responses": consultation["answered"],
        "consensus_level": result["consensus"]["level"] if report_ok else None,
        "consensus_score": result["consensus"]["score"] if report_ok else None,
        "confidence": result.get("confidence"),
        "aggregated_answer": result.get("final_answer", ""),
        "aggregated_answer_from": result.get("final_answer_from", ""),
        "common_recommendations": [r["text"] for r in result.get("recommendations", [])],
        "limitations": [r["text"] for r in result.get("limitations", [])],
        "dissenting_views": result.get("dissent", []),
        "advanced_consensus": {k: v for k, v in result.items() if k not in ("answers", "consultation")},
        "consensus_computation_time": analysis_s,
        "consensus_accelerated": True,
        "accelerated": True,
        "core": core,
    }
    return {
        "query_id": query_id,
        "query": {
            "id": query_id,
            "title": title,
            "content": content,
            "requester": requester,
            "query_type": _name(query_type),
            "priority": _name(priority),
            "context": context,
            "constraints": constraints,
            "deadline_hours": deadline_hours,
            "tags": tags,
        },
        "status": "completed",
        "responses": _responses(result),
        "failed_experts": [
            {"expert_type": a["expert"], "status": a["status"], "error": a.get("error", "")}
            for a in result.get("answers", [])
            if a.get("status") != "ok"
        ],
        "aggregation": aggregation,
        "performance": {
            "total_time": round(elapsed, 3),
            "rust_accelerated": True,
            "consensus_computation_time": analysis_s,
            "core": f"coe {core}",
        },
        "rust_stats": {
            "rust_available": True,
            "core": "coe",
            "backend": core,
            "consultation_ms": consultation.get("elapsed_ms"),
        },
    }

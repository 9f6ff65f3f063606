#!/usr/bin/env python3
"""The coe module in a few lines: analyse a panel, then (given an experts
file) ask the circle and watch the answers arrive.

    PYTHONPATH=build/python python3 examples/python/analyze_and_consult.py
    PYTHONPATH=build/python python3 examples/python/analyze_and_consult.py examples/experts.json "How should we cache a slow API?"
"""

import asyncio
import sys
from pathlib import Path

import coe


def analyse() -> None:
    engine = coe.Engine()
    panel = Path(__file__).resolve().parents[1] / "panel.json"
    report = engine.analyze(panel.read_text(encoding="utf-8"))
    consensus = report["consensus"]
    print(f"backend {report['backend']}: consensus {consensus['level']} (score {consensus['score']:.3f}), "
          f"confidence {report['confidence']:.3f}")
    for item in report["recommendations"][:3]:
        print(f"  recommended by {item['support']} experts: {item['text']}")


async def consult(experts_file: str, question: str) -> None:
    circle = coe.Circle(experts_file)
    try:
        async for event in circle.stream(question, deadline=60):
            if event["type"] in ("expert_done", "expert_failed"):
                answer = event["answer"]
                print(f"  {answer['expert']}: {answer['status']} ({answer['latency_ms']:.0f} ms)")
            elif event["type"] == "final":
                print(f"final answer (from {event['final_answer_from']}):\n{event['final_answer']}")
    except coe.ConsultationError as e:
        print(f"the circle failed: {e}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    analyse()
    if len(sys.argv) == 3:
        asyncio.run(consult(sys.argv[1], sys.argv[2]))

"""The Circle of Experts engine from Python.

    import coe
    engine = coe.Engine()
    report = engine.analyze(open("examples/panel.json").read())
    print(report["consensus"])

``coe.Engine`` (the analysis) comes from the extension module
``coe._analysis``, which links the analysis library only.  ``coe.Circle``
(consulting experts over HTTP) lives in ``coe.circle`` and its extension
``coe._consult`` (libcurl, TLS); neither is imported until ``coe.Circle`` is
first used, so a host that only analyses never loads the network library.
``coe.compat`` offers the original Python system's
``consult_experts_enhanced``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._analysis import Engine
from .errors import ConfigError, ConsultationError, Error, InputError

if TYPE_CHECKING:  # for editors and type checkers; at run time see __getattr__
    from .circle import Circle

__all__ = ["Engine", "Circle", "Error", "ConfigError", "InputError", "ConsultationError"]


def __getattr__(name: str) -> Any:
    # coe.Circle imports the consultation (and so libcurl) on first use only
    if name == "Circle":
        from .circle import Circle

        return Circle
    raise AttributeError(f"module 'coe' has no attribute '{name}'")

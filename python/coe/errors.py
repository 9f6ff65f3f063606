"""The exceptions the coe package raises.

Each carries the engine's own message, which names what is at fault (a file,
a field, a backend, an expert).  API keys never appear in a message.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

__all__ = ["Error", "ConfigError", "InputError", "ConsultationError"]


class Error(Exception):
    """Base class of every error the engine reports."""


class ConfigError(Error):
    """An engine or circle cannot be built: a bad config or experts file, a
    forced backend that is unknown or cannot run on this CPU."""


class InputError(Error, ValueError):
    """A panel, question or option the engine refuses; the message names the
    field (e.g. ``panel: responses[2].confidence: 1.5 is outside [0, 1]``)."""


class ConsultationError(Error):
    """A consultation that did not reach its quorum, or failed as a whole.

    ``result`` is the whole result (the dict ``coe consult --json`` prints)
    when there is one, else None; ``answers`` the answers that came in so far
    (failed experts included, each with its ``status`` and ``error``).
    """

    def __init__(self, message: str, result: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.result = result
        self.answers: List[Dict[str, Any]] = list(result.get("answers", [])) if result else []

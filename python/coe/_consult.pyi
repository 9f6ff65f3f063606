# Type stubs of the extension module coe._consult (python/src/circle_binding.cpp);
# use it through coe.Circle (coe/circle.py).
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

_Path = Union[str, os.PathLike[str]]

class Pending:
    def cancel(self) -> None: ...

class Circle:
    def __init__(
        self,
        experts: Union[_Path, Mapping[str, Any]],
        backend: Optional[str] = None,
        config: Optional[_Path] = None,
        plugin_path: Optional[Union[_Path, Sequence[_Path]]] = None,
    ) -> None: ...
    def start(
        self,
        question: str,
        on_event: Optional[Callable[[str], None]],
        on_done: Callable[[bool, str], None],
        *,
        quorum: Optional[int] = None,
        deadline_ms: Optional[float] = None,
        review: bool = False,
        reviewers: List[str] = ...,
        synthesize: str = "",
        system: str = "",
        experts: List[str] = ...,
        id: str = "",
    ) -> Pending: ...
    @property
    def experts(self) -> List[str]: ...
    @property
    def backend(self) -> str: ...
    def performance_report(self) -> Dict[str, Any]: ...
    def prometheus(self) -> str: ...

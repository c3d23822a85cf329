"""The native module's Rust modules depend on one another one way only
(issue #22: no import cycle, in particular among `bus`, `client` and
`subscription`, which share a bus's state through `gate`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

SRC = Path(__file__).resolve().parents[1] / "src"


def dependencies() -> Dict[str, Set[str]]:
    """Each module mapped to the modules of this crate its code names."""
    modules = {path.stem for path in SRC.glob("*.rs")}
    graph: Dict[str, Set[str]] = {}
    for path in SRC.glob("*.rs"):
        code = "\n".join(
            line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("//")
        )
        graph[path.stem] = (set(re.findall(r"crate::([a-z_]+)", code)) & modules) - {path.stem}
    return graph


def cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """A cycle of modules, or an empty list (depth-first search)."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(module: str) -> List[str]:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return []


def test_the_native_modules_have_no_import_cycle() -> None:
    graph = dependencies()
    assert {"bus", "client", "subscription", "gate", "calls"} <= graph.keys()
    assert cycle(graph) == [], " -> ".join(cycle(graph))
    assert "bus" not in graph["client"] | graph["subscription"] | graph["calls"] | graph["gate"]
    assert "client" not in graph["subscription"] | graph["calls"] | graph["gate"]


def test_the_check_finds_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []

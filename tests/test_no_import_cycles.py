"""No import circles in explorer or training: every import at module or function level is an edge (imports
only for type checkers are not)."""

from __future__ import annotations

import grimp
import pytest


def cycles(graph, package: str) -> list[list[str]]:
    """Every strongly connected group of more than one module among ``package``'s modules (Tarjan)."""
    mods = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    edges = {m: sorted(d for d in graph.find_modules_directly_imported_by(m) if d in mods) for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for m in mods:
        if m not in index:
            visit(m)
    return out


@pytest.mark.parametrize("package", ["explorer", "training"])
def test_no_import_cycles(package):
    graph = grimp.build_graph("explorer", "training", exclude_type_checking_imports=True)
    assert cycles(graph, package) == []

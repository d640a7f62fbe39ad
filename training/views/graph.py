"""Layout of a workflow's jobs as a left-to-right graph, drawn as inline SVG."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 160, 44, 56, 14, 12


class JobLike(Protocol):
    id: str
    component: str
    depends_on: list[str]


@dataclass
class Node:
    id: str
    label: str
    sub: str
    x: int
    y: int


@dataclass
class Edge:
    source: str
    target: str
    d: str  # SVG path


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int


def _layers(jobs: list[JobLike]) -> dict[str, int]:
    """Column of each job: one more than its deepest dependency (cycles stop at the job count)."""
    ids = {j.id for j in jobs}
    deps = {j.id: [d for d in j.depends_on if d in ids] for j in jobs}
    depth: dict[str, int] = {}

    def visit(job_id: str, seen: frozenset[str]) -> int:
        if job_id in depth:
            return depth[job_id]
        if job_id in seen:
            return 0  # a cycle: validation reports it; the drawing just stays finite
        level = 1 + max((visit(d, seen | {job_id}) for d in deps[job_id]), default=-1)
        depth[job_id] = level
        return level

    for job in jobs:
        visit(job.id, frozenset())
    return depth


def layout(jobs: Iterable[JobLike]) -> Graph:
    jobs = list(jobs)
    depth = _layers(jobs)
    rows: dict[int, int] = {}
    pos: dict[str, Node] = {}
    for job in jobs:
        col = depth.get(job.id, 0)
        row = rows.get(col, 0)
        rows[col] = row + 1
        sub = job.component + (f" · {method}" if (method := getattr(job, "method", None)) else "")
        pos[job.id] = Node(job.id, job.id, sub, PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    edges = []
    for job in jobs:
        for dep in job.depends_on:
            if dep not in pos:
                continue
            a, b = pos[dep], pos[job.id]
            x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
            x2, y2 = b.x, b.y + NODE_H // 2
            if x2 <= x1:  # drawn backwards (a cycle): loop under the boxes
                d = f"M{x1},{y1} C{x1 + 40},{y1 + 60} {x2 - 40},{y2 + 60} {x2},{y2}"
            else:
                mid = (x1 + x2) // 2
                d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 2},{y2}"
            edges.append(Edge(dep, job.id, d))
    cols = max(depth.values(), default=0) + 1
    height = PAD * 2 + max(rows.values(), default=1) * (NODE_H + GAP_Y) - GAP_Y
    width = PAD * 2 + cols * (NODE_W + GAP_X) - GAP_X
    return Graph(list(pos.values()), edges, width, height)

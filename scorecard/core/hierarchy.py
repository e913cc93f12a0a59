"""The org tree of a scorecard, with every question about it answered from precomputed tuples.

The stream asks ``ancestors(unit)`` for every event (an event counts for its unit and for every unit above it) and
the roll-up walks ``postorder()`` on every tick, so all answers are computed once at construction and each lookup
is a dict access returning an immutable tuple.

Public API
----------
``OrgTree(root: Unit)`` or ``OrgTree.from_scorecard(scorecard)``; unit ids in, unit ids out:

- ``root -> str``, ``units -> tuple[str, ...]`` (pre-order: parents before children, siblings in file order),
  ``height -> int`` (depth of the deepest unit; a lone root has height 0);
- ``parent(u) -> str | None``, ``children(u) -> tuple[str, ...]``, ``is_leaf(u) -> bool``;
- ``ancestors(u) -> tuple[str, ...]``: from ``u`` itself up to the root;
- ``depth(u) -> int``: root is 0;
- ``descendants_or_self(u) -> tuple[str, ...]``: ``u`` and its subtree, pre-order;
- ``postorder() -> tuple[str, ...]``: children before parents, the order of a roll-up;
- ``weight(u) -> float``: the unit's weight in its parent's score; ``unit(u) -> Unit``: its definition;
- ``u in tree``, ``len(tree)``, ``iter(tree)`` (pre-order).

An unknown unit id raises ``KeyError``. A tree given twice the same id, or deeper than
``scorecard.core.definition.MAX_ORG_DEPTH`` levels below its root, raises ``ValueError`` (before anything is built for
it): a definition loaded through ``scorecard.core.definition`` has already reported either. Nothing here recurses, so a
tree of any shape costs time in proportion to its units times its (bounded) height.
"""

from __future__ import annotations

from collections.abc import Iterator

from scorecard.core.definition import MAX_ORG_DEPTH, Scorecard, Unit

__all__ = ["OrgTree"]


class OrgTree:
    """An immutable, fully indexed view of the org tree."""

    __slots__ = (
        "_ancestors",
        "_children",
        "_depth",
        "_descendants",
        "_height",
        "_parent",
        "_postorder",
        "_preorder",
        "_units",
    )

    def __init__(self, root: Unit) -> None:
        preorder: list[Unit] = []
        parent: dict[str, str | None] = {}
        stack: list[tuple[Unit, str | None, int]] = [(root, None, 0)]
        while stack:
            unit, above, depth = stack.pop()
            if unit.id in parent:
                raise ValueError(f"unit {unit.id!r} appears twice in the org tree")
            if depth > MAX_ORG_DEPTH:
                raise ValueError(f"unit {unit.id!r} is {depth} levels below the root, more than {MAX_ORG_DEPTH}")
            parent[unit.id] = above
            preorder.append(unit)
            stack.extend((child, unit.id, depth + 1) for child in reversed(unit.children))
        self._units = {u.id: u for u in preorder}
        self._parent = parent
        self._preorder = tuple(u.id for u in preorder)
        self._children = {u.id: tuple(c.id for c in u.children) for u in preorder}
        self._ancestors: dict[str, tuple[str, ...]] = {}
        for unit_id in self._preorder:  # parents come first, so their chain is ready
            above = parent[unit_id]
            self._ancestors[unit_id] = (unit_id, *(self._ancestors[above] if above is not None else ()))
        self._depth = {u: len(chain) - 1 for u, chain in self._ancestors.items()}
        self._height = max(self._depth.values())
        self._descendants = self._collect_descendants()
        self._postorder = self._collect_postorder(root.id)

    @classmethod
    def from_scorecard(cls, scorecard: Scorecard) -> OrgTree:
        return cls(scorecard.org)

    def _collect_descendants(self) -> dict[str, tuple[str, ...]]:
        """Each subtree is a contiguous slice of the pre-order: from the unit to just before its next non-descendant."""
        position = {u: i for i, u in enumerate(self._preorder)}
        out: dict[str, tuple[str, ...]] = {}
        for unit_id in self._preorder:
            start = position[unit_id]
            end = start + 1
            while end < len(self._preorder) and self._depth[self._preorder[end]] > self._depth[unit_id]:
                end += 1
            out[unit_id] = self._preorder[start:end]
        return out

    def _collect_postorder(self, root_id: str) -> tuple[str, ...]:
        out: list[str] = []
        stack: list[tuple[str, bool]] = [(root_id, False)]
        while stack:
            unit_id, expanded = stack.pop()
            if expanded:
                out.append(unit_id)
                continue
            stack.append((unit_id, True))
            stack.extend((child, False) for child in reversed(self._children[unit_id]))
        return tuple(out)

    def _known(self, unit_id: str) -> None:
        if unit_id not in self._parent:
            raise KeyError(f"unknown unit {unit_id!r}")

    @property
    def root(self) -> str:
        return self._preorder[0]

    @property
    def units(self) -> tuple[str, ...]:
        return self._preorder

    @property
    def height(self) -> int:
        return self._height

    def unit(self, unit_id: str) -> Unit:
        self._known(unit_id)
        return self._units[unit_id]

    def parent(self, unit_id: str) -> str | None:
        self._known(unit_id)
        return self._parent[unit_id]

    def children(self, unit_id: str) -> tuple[str, ...]:
        self._known(unit_id)
        return self._children[unit_id]

    def is_leaf(self, unit_id: str) -> bool:
        return not self.children(unit_id)

    def ancestors(self, unit_id: str) -> tuple[str, ...]:
        """The unit itself, then its parent, ... up to the root: every unit an event of ``unit_id`` counts for."""
        try:
            return self._ancestors[unit_id]
        except KeyError:
            raise KeyError(f"unknown unit {unit_id!r}") from None

    def depth(self, unit_id: str) -> int:
        self._known(unit_id)
        return self._depth[unit_id]

    def descendants_or_self(self, unit_id: str) -> tuple[str, ...]:
        self._known(unit_id)
        return self._descendants[unit_id]

    def postorder(self) -> tuple[str, ...]:
        """Children before their parent, siblings in file order: a roll-up can fold each unit in one pass."""
        return self._postorder

    def weight(self, unit_id: str) -> float:
        return self.unit(unit_id).weight

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._parent

    def __len__(self) -> int:
        return len(self._preorder)

    def __iter__(self) -> Iterator[str]:
        return iter(self._preorder)

    def __repr__(self) -> str:
        return f"OrgTree(root={self.root!r}, units={len(self)}, height={self.height})"

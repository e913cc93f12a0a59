"""OrgTree on a small hand-made tree (exact tuples), on the example, and on random trees (structural properties)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecard.core.definition import Unit, load_scorecard
from scorecard.core.hierarchy import OrgTree

#   root
#   ├── a (weight 2)
#   │   ├── a1
#   │   └── a2
#   │       └── a2x
#   └── b (weight 0.5)
SMALL = Unit(
    id="root",
    children=(
        Unit(id="a", weight=2, children=(Unit(id="a1"), Unit(id="a2", children=(Unit(id="a2x"),)))),
        Unit(id="b", weight=0.5),
    ),
)


@pytest.fixture
def tree() -> OrgTree:
    return OrgTree(SMALL)


def test_root_units_and_height(tree: OrgTree) -> None:
    assert tree.root == "root"
    assert tree.units == ("root", "a", "a1", "a2", "a2x", "b")
    assert tuple(tree) == tree.units
    assert len(tree) == 6
    assert tree.height == 3


def test_parent_and_children(tree: OrgTree) -> None:
    assert tree.parent("root") is None
    assert tree.parent("a2x") == "a2"
    assert tree.parent("b") == "root"
    assert tree.children("root") == ("a", "b")
    assert tree.children("a") == ("a1", "a2")
    assert tree.children("a1") == ()
    assert [u for u in tree if tree.is_leaf(u)] == ["a1", "a2x", "b"]


def test_ancestors_go_from_the_unit_itself_up_to_the_root(tree: OrgTree) -> None:
    assert tree.ancestors("a2x") == ("a2x", "a2", "a", "root")
    assert tree.ancestors("b") == ("b", "root")
    assert tree.ancestors("root") == ("root",)


def test_depth(tree: OrgTree) -> None:
    assert {u: tree.depth(u) for u in tree} == {"root": 0, "a": 1, "a1": 2, "a2": 2, "a2x": 3, "b": 1}


def test_descendants_or_self(tree: OrgTree) -> None:
    assert tree.descendants_or_self("root") == ("root", "a", "a1", "a2", "a2x", "b")
    assert tree.descendants_or_self("a") == ("a", "a1", "a2", "a2x")
    assert tree.descendants_or_self("a2") == ("a2", "a2x")
    assert tree.descendants_or_self("b") == ("b",)


def test_postorder_puts_children_before_parents(tree: OrgTree) -> None:
    assert tree.postorder() == ("a1", "a2x", "a2", "a", "b", "root")


def test_weight_and_unit(tree: OrgTree) -> None:
    assert (tree.weight("a"), tree.weight("b"), tree.weight("a1")) == (2.0, 0.5, 1.0)
    assert tree.unit("a2").children == (Unit(id="a2x"),)


def test_contains(tree: OrgTree) -> None:
    assert "a2x" in tree
    assert "zzz" not in tree
    assert 3 not in tree


@pytest.mark.parametrize("method", ["parent", "children", "ancestors", "depth", "descendants_or_self", "weight"])
def test_unknown_unit_raises_key_error(tree: OrgTree, method: str) -> None:
    with pytest.raises(KeyError, match="unknown unit 'zzz'"):
        getattr(tree, method)("zzz")


def test_a_unit_twice_in_the_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="'a1' appears twice"):
        OrgTree(Unit(id="root", children=(Unit(id="a1"), Unit(id="a", children=(Unit(id="a1"),)))))


def test_lone_root() -> None:
    tree = OrgTree(Unit(id="solo"))
    assert (tree.root, tree.height, tree.postorder(), tree.ancestors("solo")) == ("solo", 0, ("solo",), ("solo",))


def test_example_tree(example_path: Path) -> None:
    tree = OrgTree.from_scorecard(load_scorecard(example_path))
    assert tree.root == "acme"
    assert tree.height == 2
    assert len(tree) >= 10
    assert tree.ancestors("sales-emea") == ("sales-emea", "sales", "acme")
    assert tree.children("sales") == ("sales-emea", "sales-na", "sales-apac")
    assert tree.postorder()[-1] == "acme"


@st.composite
def trees(draw: st.DrawFn) -> Unit:
    """Random trees of up to 30 units with ids u0, u1, ... in pre-order."""
    counter = iter(range(10_000))

    def build(depth: int) -> Unit:
        unit_id = f"u{next(counter)}"
        width = draw(st.integers(0, 3 if depth < 4 else 0))
        return Unit(id=unit_id, children=tuple(build(depth + 1) for _ in range(width)))

    return build(0)


@given(trees())
def test_structure_is_consistent_on_random_trees(root: Unit) -> None:
    tree = OrgTree(root)
    position = {u: i for i, u in enumerate(tree.postorder())}
    assert sorted(tree.postorder()) == sorted(tree.units)
    for unit in tree:
        chain = tree.ancestors(unit)
        assert chain[0] == unit and chain[-1] == tree.root
        assert len(chain) == tree.depth(unit) + 1
        for child, parent in pairwise(chain):
            assert tree.parent(child) == parent
        for child in tree.children(unit):
            assert position[child] < position[unit]
        subtree = tree.descendants_or_self(unit)
        assert subtree[0] == unit
        assert set(subtree) == {u for u in tree if unit in tree.ancestors(u)}

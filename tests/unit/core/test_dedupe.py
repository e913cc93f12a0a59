"""The dedupe memory in slices: lookups, filling, forgetting from the front, and reloading after a crash."""

from __future__ import annotations

import pytest

from scorecard.core import dedupe
from scorecard.core.dedupe import ENTRY_BYTES, SLICE_BYTES, IdMemory, id_digest


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedupe, "SLICE_IDS", 3)


def filled(*entries: tuple[str, float]) -> IdMemory:
    memory = IdMemory()
    for event_id, time in entries:
        memory.remember(id_digest(event_id), time)
    return memory


def test_a_slice_record_stays_under_100_kb_whatever_the_id_length() -> None:
    assert SLICE_BYTES < 100_000 and ENTRY_BYTES == 24
    assert len(id_digest("x" * 1_000_000)) == len(id_digest("")) == 16
    assert id_digest("e-1") != id_digest("e-2") and id_digest("\udcff") == id_digest("\udcff")  # any str encodes


def test_remember_fills_slices_in_order_and_lookups_see_the_newest_acceptance() -> None:
    memory = filled(("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("a", 9.0))
    assert memory.bounds == (0, 1, 2)  # slice 0 full (a b c), slice 1 holds d and a's second acceptance
    assert memory.first_seen(id_digest("a")) == 9.0 and memory.first_seen(id_digest("z")) is None
    assert len(memory) == 4 and memory.entries == 5
    assert memory.dirty == {0, 1}
    memory.clean()
    memory.remember(id_digest("e"), 5.0)
    assert memory.dirty == {1}  # only the slice being filled is written again


def test_forgetting_drops_whole_slices_from_the_front_once_all_their_entries_are_old() -> None:
    memory = filled(("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0), ("f", 6.0), ("g", 7.0))
    assert memory.forget_before(3.0) == []  # c (3.0) is not older than 3.0: slice 0 stays
    assert memory.forget_before(6.5) == [0, 1]  # slice 2 (g) is the one being filled
    assert memory.bounds == (2, 2, 1) and len(memory) == 1
    assert memory.forget_before(100.0) == []  # the slice being filled is never dropped


def test_an_id_accepted_again_survives_the_forgetting_of_its_first_entry() -> None:
    memory = filled(("a", 1.0), ("b", 2.0), ("c", 3.0), ("a", 10.0))
    memory.forget_before(5.0)
    assert memory.first_seen(id_digest("a")) == 10.0
    assert memory.first_seen(id_digest("b")) is None


def test_load_rebuilds_an_equal_memory_from_its_bounds_and_slice_records() -> None:
    memory = filled(("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.5))
    memory.forget_before(4.0)
    records = {n: memory.slice_bytes(n) for n in range(memory.first, memory.last + 1)}
    loaded = IdMemory.load(memory.bounds, records.get)
    assert loaded == memory and loaded.bounds == (1, 1, 1)
    assert loaded.first_seen(id_digest("d")) == 4.5 and loaded.first_seen(id_digest("a")) is None


def test_load_cuts_off_what_was_written_after_the_counting_record_and_ignores_later_slices() -> None:
    """A crash between writing a slice and the unit record that counts its entries leaves them uncounted."""
    counted = filled(("a", 1.0), ("b", 2.0))
    bounds = counted.bounds
    ahead = filled(("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0))  # the slices as written before the crash
    records = {n: ahead.slice_bytes(n) for n in (0, 1)}
    loaded = IdMemory.load(bounds, records.get)
    assert loaded == counted
    assert loaded.first_seen(id_digest("c")) is None and loaded.first_seen(id_digest("d")) is None


def test_load_refuses_a_missing_short_or_malformed_slice() -> None:
    one = b"\0" * ENTRY_BYTES
    with pytest.raises(ValueError, match="slice 0"):
        IdMemory.load((0, 0, 1), {}.get)
    with pytest.raises(ValueError, match="slice 1"):
        IdMemory.load((0, 1, 2), {0: one, 1: one}.get)  # the last slice must hold what the bounds count
    with pytest.raises(ValueError, match="slice 0"):
        IdMemory.load((0, 1, 1), {0: one[:-1], 1: one}.get)  # not a whole number of entries
    with pytest.raises(ValueError, match="slice 0"):
        IdMemory.load((0, 1, 1), {0: b"", 1: one}.get)  # a slice before the last is never empty


def test_a_new_slice_starts_when_the_current_one_would_span_too_much_event_time() -> None:
    memory = IdMemory()
    for event_id, time in (("a", 0.0), ("b", 50.0), ("c", 101.0), ("d", 102.0), ("e", 40.0)):
        memory.remember(id_digest(event_id), time, span=100.0)
    # a and b span 50 s; c would make it 101 (more than 100): a new slice, which d and e (late, older) join
    assert memory.bounds == (0, 1, 3)
    assert memory.forget_before(100.5) == [0] and len(memory) == 3  # e stays with its slice

"""Mergeable aggregate states shared by the stream, the replay and the hierarchy rollup.

The stream folds events into partial states per partition and window, then merges them in whatever order Kafka and
the org tree dictate; the batch replay folds the same events in file order. Both must print the *same* numbers, to
the last bit. Float addition is not associative (``(0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)``), so states never hold
floats: every number is converted once, on the way in, to an exact integer in fixed point (micro-units, ``SCALE``).
Integer addition, ``min`` and ``max`` are exactly associative and commutative, so any batching, partitioning or merge
order gives identical states, and ``value()`` derives the float from those integers with a single correctly rounded
division, which is deterministic too.

Consequence worth knowing: values are exact to 6 decimals. ``to_fixed`` rounds half-even at the sixth decimal, so
``0.1234565`` and ``0.1234575`` do not survive unchanged; amounts, durations, counts and scores never need more.
A float above about 9e9 has no sub-micro-unit resolution left, so ``round(x * SCALE)`` is then exact to its own
precision only (still deterministic: the same float always gives the same int); integers are exact at any size.

Range: every component of a unit's own state stays strictly within ``(-STATE_LIMIT, STATE_LIMIT)``, that is sums
just under 1e12 display units per unit and bucket. The states themselves are Python ints and would grow without
bound; the limit is the engine's (it refuses an event that would cross it, ``out_of_range``, before changing
anything, using ``VALUE_LIMIT`` and ``SUM_COMPONENT`` below), so that every stored number fits the readers'
representations. Counts cannot reach it (that takes 1e18 events).

Hot path: per event the engine calls ``Aggregation.add(state, x)`` (or ``state.add(x)`` directly, which is what
``Aggregation.add`` does after one dispatch), which is one ``round(x * SCALE)`` and two or three integer updates on
a ``__slots__`` object: no allocation besides the Python ints themselves.

States serialize to short lists of ints (``to_list`` / ``from_list``), fixed length per kind, for Faust tables and
Redis hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

SCALE: Final = 1_000_000
"""Fixed-point scale: states count micro-units, so values are exact to 6 decimals."""

STATE_LIMIT: Final = 10**18
"""Every component of a unit's own state stays strictly within (-STATE_LIMIT, STATE_LIMIT) (see the docstring)."""
_LOW: Final = -STATE_LIMIT
_HIGH: Final = STATE_LIMIT
VALUE_LIMIT: Final = STATE_LIMIT // SCALE
"""One value's bound: for any int or float x, ``-VALUE_LIMIT < x < VALUE_LIMIT`` exactly when
``-STATE_LIMIT < round(x * SCALE) < STATE_LIMIT`` (the largest float below 1e12 scales to 1e18 - 128), so one
comparison, with no multiplication, tells whether a value fits a state."""

AggregationKind: TypeAlias = Literal["sum", "count", "avg", "min", "max", "nps", "ratio"]
SideKind: TypeAlias = Literal["sum", "count"]

KINDS: Final[tuple[str, ...]] = ("sum", "count", "avg", "min", "max", "nps", "ratio")
SIDE_KINDS: Final[tuple[str, ...]] = ("sum", "count")

DETRACTOR: Final = 0
PASSIVE: Final = 1
PROMOTER: Final = 2


def to_fixed(x: float) -> int:
    """Return ``x`` in micro-units, rounded half-even: the one place a float enters a state.

    Integers (as JSON decoders return for ``120``) stay exact at any size; floats are exact to 6 decimals for
    magnitudes below about 9e9 (where ``x * SCALE`` still has integer resolution). NaN and infinities have no
    fixed-point form and are refused with ``ValueError`` rather than poisoning a state forever.
    """
    try:
        return round(x * SCALE)
    except (OverflowError, ValueError):
        raise ValueError(f"cannot aggregate non-finite number {x!r}") from None


def from_fixed(n: int) -> float:
    """Return micro-units as a float; int / int is correctly rounded, hence deterministic."""
    return n / SCALE


def nps_bucket(x: float) -> int:
    """Classify a 0-10 NPS answer: ``PROMOTER`` for 9-10, ``DETRACTOR`` for 0-6, ``PASSIVE`` in between.

    Range checking (0..10) is the caller's job (the engine reports ``nps_out_of_range``); a fractional answer such as
    6.5 lands in the passive band because it is neither a detractor's 0-6 nor a promoter's 9-10.
    """
    if x >= 9:
        return PROMOTER
    if x > 6:
        return PASSIVE
    return DETRACTOR


# --------------------------------------------------------------------------------------------------------- states
# The states are mutable on purpose: `add` is the hot path and must not allocate. `merge_into` folds another state
# into this one (rollup accumulators); `merged` returns a new state and leaves both inputs alone (property tests,
# callers that keep their partials).


@dataclass(slots=True)
class SumCount:
    """Sum (micro-units) and number of events: serves ``sum``, ``count`` and ``avg``.

    ``avg`` is derived as total / count over all events, never as an average of averages, which is exactly why the
    pair is kept rather than the mean.
    """

    total: int = 0
    count: int = 0

    def add(self, x: float) -> None:
        try:  # to_fixed inlined: this is the hottest line of the replay
            self.total += round(x * SCALE)
        except (OverflowError, ValueError):
            to_fixed(x)  # raises the explanatory ValueError
            raise
        self.count += 1

    def add_within(self, x: float) -> bool:
        """``add`` unless the total would leave (-STATE_LIMIT, STATE_LIMIT): then False, and nothing changed.

        For the engine, which has already bounded ``x`` (``VALUE_LIMIT``); one call does the check and the fold."""
        total = self.total + round(x * SCALE)
        if _LOW < total < _HIGH:
            self.total = total
            self.count += 1
            return True
        return False

    def tick(self, x: float = 0.0) -> None:
        """Count one event and ignore its value, so a ``count`` state does not depend on which field it was fed."""
        self.count += 1

    def merge_into(self, other: SumCount) -> None:
        self.total += other.total
        self.count += other.count

    def merged(self, other: SumCount) -> SumCount:
        return SumCount(self.total + other.total, self.count + other.count)

    def to_list(self) -> list[int]:
        return [self.total, self.count]

    @classmethod
    def from_list(cls, data: Sequence[int]) -> SumCount:
        total, count = _ints(data, 2, "SumCount")
        return cls(total, count)


@dataclass(slots=True)
class MinMax:
    """Smallest and largest value (micro-units) plus the event count, which makes emptiness explicit.

    Without the count an empty state would need a sentinel such as infinity, which has no fixed-point form and
    does not serialize to an int. ``lo``/``hi`` are 0 while ``count`` is 0 and must not be read then.
    """

    count: int = 0
    lo: int = 0
    hi: int = 0

    def add(self, x: float) -> None:
        try:
            n = round(x * SCALE)
        except (OverflowError, ValueError):
            to_fixed(x)
            raise
        if self.count == 0:
            self.lo = self.hi = n
        elif n < self.lo:
            self.lo = n
        elif n > self.hi:
            self.hi = n
        self.count += 1

    def merge_into(self, other: MinMax) -> None:
        if other.count == 0:
            return
        if self.count == 0:
            self.lo, self.hi = other.lo, other.hi
        else:
            self.lo = min(self.lo, other.lo)
            self.hi = max(self.hi, other.hi)
        self.count += other.count

    def merged(self, other: MinMax) -> MinMax:
        result = MinMax(self.count, self.lo, self.hi)
        result.merge_into(other)
        return result

    def to_list(self) -> list[int]:
        return [self.count, self.lo, self.hi]

    @classmethod
    def from_list(cls, data: Sequence[int]) -> MinMax:
        count, lo, hi = _ints(data, 3, "MinMax")
        if count == 0:
            lo = hi = 0  # keep one canonical empty state, so equal states compare equal
        return cls(count, lo, hi)


@dataclass(slots=True)
class NpsCounts:
    """Promoters, passives and detractors; responses are their sum.

    Passives are kept (rather than only responses) so the state explains itself in Redis and in a debugger.
    """

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add(self, x: float) -> None:
        if x >= 9:
            self.promoters += 1
        elif x > 6:
            self.passives += 1
        else:
            self.detractors += 1

    def merge_into(self, other: NpsCounts) -> None:
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors

    def merged(self, other: NpsCounts) -> NpsCounts:
        return NpsCounts(
            self.promoters + other.promoters, self.passives + other.passives, self.detractors + other.detractors
        )

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    def to_list(self) -> list[int]:
        return [self.promoters, self.passives, self.detractors]

    @classmethod
    def from_list(cls, data: Sequence[int]) -> NpsCounts:
        promoters, passives, detractors = _ints(data, 3, "NpsCounts")
        return cls(promoters, passives, detractors)


@dataclass(slots=True)
class Ratio:
    """Numerator side and denominator side, each a micro-unit sum or an event count (the spec says which).

    The multiplier is not part of the state: it is configuration, applied in ``Aggregation.value``.
    """

    numerator: int = 0
    denominator: int = 0

    def add_numerator_sum(self, x: float) -> None:
        self.numerator += to_fixed(x)

    def add_numerator_count(self, x: float = 0.0) -> None:
        self.numerator += 1

    def add_denominator_sum(self, x: float) -> None:
        self.denominator += to_fixed(x)

    def add_numerator_sum_within(self, x: float) -> bool:
        """``add_numerator_sum`` unless the side would leave (-STATE_LIMIT, STATE_LIMIT) (``SumCount.add_within``)."""
        numerator = self.numerator + round(x * SCALE)
        if _LOW < numerator < _HIGH:
            self.numerator = numerator
            return True
        return False

    def add_denominator_sum_within(self, x: float) -> bool:
        """``add_denominator_sum`` unless the side would leave (-STATE_LIMIT, STATE_LIMIT)."""
        denominator = self.denominator + round(x * SCALE)
        if _LOW < denominator < _HIGH:
            self.denominator = denominator
            return True
        return False

    def add_denominator_count(self, x: float = 0.0) -> None:
        self.denominator += 1

    def merge_into(self, other: Ratio) -> None:
        self.numerator += other.numerator
        self.denominator += other.denominator

    def merged(self, other: Ratio) -> Ratio:
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator)

    def to_list(self) -> list[int]:
        return [self.numerator, self.denominator]

    @classmethod
    def from_list(cls, data: Sequence[int]) -> Ratio:
        numerator, denominator = _ints(data, 2, "Ratio")
        return cls(numerator, denominator)


State: TypeAlias = SumCount | MinMax | NpsCounts | Ratio


def _ints(data: Sequence[int], length: int, name: str) -> list[int]:
    """Validate a serialized state: stored data outlives code, so a wrong shape must fail loudly, not misread."""
    if len(data) != length or not all(type(n) is int for n in data):
        raise ValueError(f"{name} state must be a list of {length} ints, got {data!r}")
    return list(data)


# ---------------------------------------------------------------------------------------------------------- specs

_STATE_OF_KIND: Final[dict[str, type[SumCount] | type[MinMax] | type[NpsCounts] | type[Ratio]]] = {
    "sum": SumCount,
    "count": SumCount,
    "avg": SumCount,
    "min": MinMax,
    "max": MinMax,
    "nps": NpsCounts,
    "ratio": Ratio,
}


# One merge op per ``to_list`` position, the single statement of the merge rule outside the classes above: the Redis
# cascade (scorecard/redis/store.py) applies it in Lua, and tests/unit/redis/test_store_ops.py checks it against
# ``merged``. ``a`` adds; ``c`` adds and is the state's event count (0 = empty); ``n`` / ``x`` keep the min / max over
# non-empty states, an empty side (its ``c`` is 0) contributing nothing.
COMPONENT_OPS: Final[dict[type[State], str]] = {SumCount: "ac", MinMax: "cnx", NpsCounts: "aaa", Ratio: "aa"}


SUMMING: Final[dict[Callable[..., None], tuple[str, Callable[..., bool]]]] = {
    SumCount.add: ("total", SumCount.add_within),
    Ratio.add_numerator_sum: ("numerator", Ratio.add_numerator_sum_within),
    Ratio.add_denominator_sum: ("denominator", Ratio.add_denominator_sum_within),
}
"""For each add function that sums values: the state attribute it adds ``to_fixed(x)`` to and its checking twin.
These are the components an event can push past ``STATE_LIMIT`` (min/max keep one value, which ``VALUE_LIMIT``
bounds; counts grow by one)."""


def _refuse_plain_add(state: State, x: float) -> None:
    raise TypeError("a ratio has two sides: use add_numerator / add_denominator")


@dataclass(frozen=True, slots=True)
class Aggregation:
    """How one KPI folds its events: built from plain parameters so it does not depend on the definition module.

    ``numerator`` / ``denominator`` (``"sum"`` or ``"count"``) and ``multiplier`` only apply to ``ratio``. Which
    events feed which side (each side has its own source) is the engine's business; this object only knows how a
    side accumulates. The multiplier is used in fixed point like every other number (exact to 6 decimals: 100,
    1000 or 0.5 are exact).

    Specs are immutable, hashable and compare by configuration, so one can be shared by every unit and window.
    """

    kind: AggregationKind
    numerator: SideKind | None = None
    denominator: SideKind | None = None
    multiplier: float = 1.0
    _adder: Callable[..., None] = field(init=False, repr=False, compare=False)
    _num_adder: Callable[..., None] = field(init=False, repr=False, compare=False)
    _den_adder: Callable[..., None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"aggregation must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.kind == "ratio":
            for side, side_kind in (("numerator", self.numerator), ("denominator", self.denominator)):
                if side_kind not in SIDE_KINDS:
                    raise ValueError(f"ratio {side} must be 'sum' or 'count', got {side_kind!r}")
            if isinstance(self.multiplier, bool) or not isinstance(self.multiplier, int | float):
                raise ValueError(f"ratio multiplier must be a number, got {self.multiplier!r}")
            to_fixed(self.multiplier)  # refuses NaN / infinity early
        elif self.numerator is not None or self.denominator is not None or self.multiplier != 1.0:
            raise ValueError(f"numerator, denominator and multiplier only apply to ratio, not {self.kind!r}")
        # Resolve the per-kind add function once, so the hot path is a single indirect call with no branching.
        adder: Callable[..., None] = _refuse_plain_add
        if self.kind == "count":
            adder = SumCount.tick
        elif self.kind != "ratio":
            adder = _STATE_OF_KIND[self.kind].add  # type: ignore[union-attr]
        object.__setattr__(self, "_adder", adder)
        num = Ratio.add_numerator_sum if self.numerator == "sum" else Ratio.add_numerator_count
        den = Ratio.add_denominator_sum if self.denominator == "sum" else Ratio.add_denominator_count
        object.__setattr__(self, "_num_adder", num)
        object.__setattr__(self, "_den_adder", den)

    @property
    def adder(self) -> Callable[[State, float], None]:
        """The plain ``(state, x)`` function behind ``add``, for the tightest replay loops (saves one call)."""
        return self._adder

    @property
    def component_ops(self) -> str:
        """How each ``to_list`` position merges (see ``COMPONENT_OPS``), for code that merges serialized states."""
        return COMPONENT_OPS[_STATE_OF_KIND[self.kind]]

    def new(self) -> State:
        """An empty state: the identity of ``merge``."""
        return _STATE_OF_KIND[self.kind]()

    def add(self, state: State, x: float = 0.0) -> None:
        """Fold one event value into ``state`` in place (``count`` ignores ``x``; ``ratio`` needs a side)."""
        self._adder(state, x)

    def add_numerator(self, state: State, x: float = 0.0) -> None:
        """Fold one numerator-source event into a ratio state (``x`` ignored when that side counts)."""
        self._num_adder(state, x)

    def add_denominator(self, state: State, x: float = 0.0) -> None:
        """Fold one denominator-source event into a ratio state (``x`` ignored when that side counts)."""
        self._den_adder(state, x)

    def merge(self, a: State, b: State) -> State:
        """A new state holding both inputs' events; inputs are left untouched. Exactly associative and commutative."""
        return a.merged(b)  # type: ignore[arg-type]

    def merge_into(self, target: State, other: State) -> State:
        """Fold ``other`` into ``target`` in place and return ``target`` (rollup accumulators, no allocation)."""
        target.merge_into(other)  # type: ignore[arg-type]
        return target

    def merge_all(self, states: Sequence[State]) -> State:
        """Merge any number of states (e.g. a unit's own state and its children's) into a new one."""
        result = self.new()
        for state in states:
            result.merge_into(state)  # type: ignore[arg-type]
        return result

    def value(self, state: State) -> float | None:
        """The KPI value, or None when it has none (no events; a ratio with a zero denominator).

        ``sum`` and ``count`` of an empty window are 0. Every float is derived from the exact ints with one
        correctly rounded division, so equal states always give bit-identical values.
        """
        kind = self.kind
        if kind == "sum":
            assert isinstance(state, SumCount)
            return from_fixed(state.total)
        if kind == "count":
            assert isinstance(state, SumCount)
            return float(state.count)
        if kind == "avg":
            assert isinstance(state, SumCount)
            return state.total / (state.count * SCALE) if state.count else None
        if kind in ("min", "max"):
            assert isinstance(state, MinMax)
            if not state.count:
                return None
            return from_fixed(state.lo if kind == "min" else state.hi)
        if kind == "nps":
            assert isinstance(state, NpsCounts)
            responses = state.responses
            return 100 * (state.promoters - state.detractors) / responses if responses else None
        assert isinstance(state, Ratio)
        return self._ratio_value(state)

    def _ratio_value(self, state: Ratio) -> float | None:
        """multiplier * numerator / denominator as one exact-int division (both sides brought to micro-units)."""
        if state.denominator == 0:
            return None
        numerator = state.numerator if self.numerator == "sum" else state.numerator * SCALE
        denominator = state.denominator if self.denominator == "sum" else state.denominator * SCALE
        return to_fixed(self.multiplier) * numerator / (denominator * SCALE)

    def to_list(self, state: State) -> list[int]:
        """Compact JSON-able form: a fixed-length list of ints per kind (2 for sum/count/avg/ratio, 3 otherwise)."""
        return state.to_list()

    def from_list(self, data: Sequence[int]) -> State:
        """Rebuild a state from ``to_list`` output; refuses a list of the wrong length or with non-int items."""
        return _STATE_OF_KIND[self.kind].from_list(data)


def make_aggregation(
    kind: str,
    *,
    numerator: str | None = None,
    denominator: str | None = None,
    multiplier: float = 1.0,
) -> Aggregation:
    """Build an ``Aggregation`` from untyped configuration values (validated by ``Aggregation`` itself)."""
    return Aggregation(kind, numerator, denominator, multiplier)  # type: ignore[arg-type]

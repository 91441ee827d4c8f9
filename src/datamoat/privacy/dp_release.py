"""Differentially private statistics with OpenDP, released against a dataset's budget.

Statistics (each over one column of a dataset version)
    ``count``      non-missing values (sensitivity 1);
    ``sum``        values clamped to ``bounds = (lower, upper)`` (sensitivity max(|lower|, |upper|));
    ``mean``       a noisy clamped sum over a noisy count, each with half the budget (the count
                   is floored at 1 and the result clamped to the bounds, post-processing);
    ``histogram``  counts of the given ``categories`` plus one ``other`` bin for every other
                   value (sensitivity 1).
Missing values are dropped first (a row-wise step, so the privacy unit is unchanged).

Privacy unit: one row (add/remove one row, OpenDP's ``symmetric_distance`` with ``d_in = 1``).
If one person has several rows, the guarantee per person is weaker by that factor.

Mechanisms: ``laplace`` (pure ε-DP; OpenDP's discrete Laplace for counts) or ``gaussian``
((ε, δ)-DP; OpenDP's Gaussian is zCDP and is converted to (ε, δ) with
``make_zCDP_to_approxDP`` + ``make_fix_delta``). The noise scale is found with
``binary_search_param`` so that OpenDP's own privacy map reports at most the ε (δ) asked for,
and the results carry that ε (δ) and the noise scale(s).

:func:`dp_statistic` computes a statistic without a budget. :func:`release` spends from the
dataset's budget (:mod:`datamoat.privacy.dp_ledger`): it checks the remaining budget, runs the
mechanism, records the spend and appends a ``dp_release`` audit event, all in ONE catalog
transaction, so two concurrent releases cannot both spend the last of a budget, and a refused
or failed release spends nothing and leaves no trace but the error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event_in
from datamoat.errors import DatamoatError
from datamoat.privacy.dp_ledger import Budget, check_epsilon_delta, spend

if TYPE_CHECKING:
    from datamoat.data.version import Version

STATISTICS = ("count", "sum", "mean", "histogram")
MECHANISMS = ("laplace", "gaussian")
OTHER_BIN = "other"


@dataclass(frozen=True)
class DPResult:
    """One differentially private statistic, JSON-ready via :meth:`to_dict`.

    value: the released number (count/sum/mean) or ``{category: count}`` (histogram, with
        ``"other"``). epsilon / delta: what OpenDP's privacy map says the release costs.
    noise_scale: the noise scale of each noisy quantity (``{"sum": .., "count": ..}`` for a
        mean, a number otherwise). rows: never released (it is not private); not included.
    """

    statistic: str
    column: str
    value: Any
    epsilon: float
    delta: float
    mechanism: str
    noise_scale: Any
    bounds: list[float] | None = None
    categories: list[str] | None = None
    privacy_unit: str = "one row"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DPRelease:
    """A recorded release: the result, its catalog id, the version and the budget left after."""

    id: int
    version: str
    result: DPResult
    budget: Budget = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            **self.result.to_dict(),
            "budget": self.budget.to_dict(),
        }


def _dp() -> Any:
    import opendp.prelude as dp  # heavy: imported on first use

    dp.enable_features("contrib")
    return dp


def _check_privacy(epsilon: float, delta: float, mechanism: str) -> tuple[float, float]:
    if mechanism not in MECHANISMS:
        raise DatamoatError(f"unknown mechanism {mechanism!r}; mechanisms: {', '.join(MECHANISMS)}.")
    epsilon, delta = check_epsilon_delta(epsilon, delta)
    if mechanism == "laplace" and delta != 0:
        raise DatamoatError("the Laplace mechanism is pure ε-DP; give delta=0 or use mechanism='gaussian'.")
    if mechanism == "gaussian" and delta == 0:
        raise DatamoatError("the Gaussian mechanism needs delta > 0 (e.g. 1e-6).")
    return epsilon, delta


def _check_bounds(bounds: Sequence[float] | None, statistic: str) -> tuple[float, float]:
    if bounds is None:
        raise DatamoatError(f"a DP {statistic} needs bounds=(lower, upper) to clamp the values to.")
    try:
        lower, upper = (float(b) for b in bounds)
    except (TypeError, ValueError) as err:
        raise DatamoatError(f"bounds must be two numbers (lower, upper), got {bounds!r}.") from err
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise DatamoatError(f"bounds must be finite with lower < upper, got {bounds!r}.")
    return lower, upper


def _calibrate(
    parts: list[Any], epsilon: float, delta: float, mechanism: str
) -> tuple[Any, list[float], float, float]:
    """Noise one or more transformations so that together they cost (epsilon, delta).

    parts: OpenDP transformations from the column's values; each gets noise of scale
    ``x * its sensitivity`` (one multiplier ``x`` for all, so the budget splits evenly) and
    ``x`` is searched so that the composed measurement's privacy map meets (epsilon, delta).
    Returns (measurement, scale per part, epsilon, delta as mapped by OpenDP).
    """
    dp = _dp()
    sensitivities = [float(t.map(1)) for t in parts]
    noise = dp.m.then_laplace if mechanism == "laplace" else dp.m.then_gaussian

    def build(x: float) -> Any:
        measurements = [t >> noise(scale=x * s) for t, s in zip(parts, sensitivities, strict=True)]
        meas = measurements[0] if len(measurements) == 1 else dp.c.make_composition(measurements)
        if mechanism == "gaussian":
            meas = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(meas), delta)
        return meas

    d_out = epsilon if mechanism == "laplace" else (epsilon, delta)
    x = dp.binary_search_param(build, d_in=1, d_out=d_out, T=float)
    meas = build(x)
    spent = meas.map(1)
    eps_spent, delta_spent = (
        (float(spent), 0.0) if mechanism == "laplace" else (float(spent[0]), float(spent[1]))
    )
    return meas, [x * s for s in sensitivities], eps_spent, delta_spent


def _numbers(values: pa.Array | pa.ChunkedArray | Sequence[Any], column: str) -> list[float]:
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(list(values))
    if not (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_decimal(arr.type)
        or pa.types.is_boolean(arr.type)
        or pa.types.is_null(arr.type)
    ):
        raise DatamoatError(
            f"column {column!r} holds {arr.type}, not numbers; a DP sum or mean needs numbers."
        )
    arr = pc.drop_null(arr.cast(pa.float64()))
    numbers = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=float)
    return numbers[np.isfinite(numbers)].tolist()


def dp_statistic(
    statistic: str,
    values: pa.Array | pa.ChunkedArray | Sequence[Any],
    *,
    epsilon: float,
    delta: float = 0.0,
    mechanism: str = "laplace",
    bounds: Sequence[float] | None = None,
    categories: Sequence[Any] | None = None,
    column: str = "value",
) -> DPResult:
    """Release one statistic of ``values`` with OpenDP (no budget is involved; see :func:`release`).

    statistic: count, sum, mean or histogram. bounds: required for sum and mean.
    categories: required for histogram. Raises DatamoatError for bad arguments.
    """
    return _plan(
        statistic,
        values,
        epsilon=epsilon,
        delta=delta,
        mechanism=mechanism,
        bounds=bounds,
        categories=categories,
        column=column,
    )()


def _plan(
    statistic: str,
    values: pa.Array | pa.ChunkedArray | Sequence[Any],
    *,
    epsilon: float,
    delta: float,
    mechanism: str,
    bounds: Sequence[float] | None,
    categories: Sequence[Any] | None,
    column: str,
) -> Callable[[], DPResult]:
    """Validate everything and build the measurement; the returned function runs it once."""
    epsilon, delta = _check_privacy(epsilon, delta, mechanism)
    if statistic not in STATISTICS:
        raise DatamoatError(f"unknown DP statistic {statistic!r}; statistics: {', '.join(STATISTICS)}.")
    dp = _dp()
    metric = dp.symmetric_distance()
    floats = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    base: dict[str, Any] = {"statistic": statistic, "column": column, "mechanism": mechanism}

    if statistic == "histogram":
        if not categories:
            raise DatamoatError(
                "a DP histogram needs the list of categories (values outside it count as 'other')."
            )
        cats = [str(c) for c in categories]
        if len(set(cats)) != len(cats):
            raise DatamoatError("the histogram's categories must be distinct.")
        arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(list(values))
        data = [str(v) for v in pc.drop_null(arr).to_pylist()]
        out_metric = "L1Distance<i32>" if mechanism == "laplace" else "L2Distance<i32>"
        hist = (dp.vector_domain(dp.atom_domain(T=str)), metric) >> dp.t.then_count_by_categories(
            categories=cats, MO=out_metric
        )
        meas, scales, eps, dlt = _calibrate([hist], epsilon, delta, mechanism)

        def run_hist() -> DPResult:
            counts = [max(int(c), 0) for c in meas(data)]
            value = dict(zip([*cats, OTHER_BIN], counts, strict=True))
            return DPResult(
                **base, value=value, epsilon=eps, delta=dlt, noise_scale=scales[0], categories=cats
            )

        return run_hist

    if statistic == "count":
        arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(list(values))
        data = [0.0] * (len(arr) - arr.null_count)  # only the number of values matters
        meas, scales, eps, dlt = _calibrate(
            [(floats, metric) >> dp.t.then_count()], epsilon, delta, mechanism
        )

        def run_count() -> DPResult:
            return DPResult(
                **base, value=max(int(meas(data)), 0), epsilon=eps, delta=dlt, noise_scale=scales[0]
            )

        return run_count

    lower, upper = _check_bounds(bounds, statistic)
    data = _numbers(values, column)
    clamped_sum = (floats, metric) >> dp.t.then_clamp((lower, upper)) >> dp.t.then_sum()
    if statistic == "sum":
        meas, scales, eps, dlt = _calibrate([clamped_sum], epsilon, delta, mechanism)

        def run_sum() -> DPResult:
            return DPResult(
                **base,
                value=float(meas(data)),
                epsilon=eps,
                delta=dlt,
                noise_scale=scales[0],
                bounds=[lower, upper],
            )

        return run_sum

    count = (floats, metric) >> dp.t.then_count()
    meas, scales, eps, dlt = _calibrate([clamped_sum, count], epsilon, delta, mechanism)

    def run_mean() -> DPResult:
        noisy_sum, noisy_count = meas(data)
        mean = min(max(float(noisy_sum) / max(int(noisy_count), 1), lower), upper)
        return DPResult(
            **base,
            value=mean,
            epsilon=eps,
            delta=dlt,
            noise_scale={"sum": scales[0], "count": scales[1]},
            bounds=[lower, upper],
        )

    return run_mean


def release(
    catalog: Catalog,
    version: Version,
    statistic: str,
    column: str,
    *,
    epsilon: float,
    delta: float = 0.0,
    mechanism: str = "laplace",
    bounds: Sequence[float] | None = None,
    categories: Sequence[Any] | None = None,
) -> DPRelease:
    """Release a DP ``statistic`` of ``column`` of ``version``, spending from its dataset's budget.

    catalog: the catalog ``version`` belongs to (it holds the budget and the audit log).
    In one transaction: run the mechanism, spend from the budget
    (:func:`datamoat.privacy.dp_ledger.spend`, which holds the budget's write lock, checks what
    remains and raises DatamoatError "release needs ε=..., but only ε=... of the dataset's
    budget of ... remains" when it does not suffice; the result is then discarded unseen) and
    append a ``dp_release`` audit event. The ε/δ checked and recorded are those OpenDP's privacy
    map reports for the measurement, not the ``epsilon`` / ``delta`` asked for.
    """
    if column not in version.schema.names:
        shown = ", ".join(n for n in version.schema.names if not n.startswith("_dm_"))
        raise DatamoatError(f"{version.ref}: no column {column!r}; the columns are: {shown}.")
    values = version.to_arrow([column]).column(column)
    run = _plan(
        statistic,
        values,
        epsilon=epsilon,
        delta=delta,
        mechanism=mechanism,
        bounds=bounds,
        categories=categories,
        column=column,
    )
    for attempt in range(5):
        try:
            with catalog.engine.begin() as conn:
                result = run()
                spent = spend(
                    conn,
                    version.record.id,
                    result.epsilon,
                    result.delta,
                    statistic=statistic,
                    column=column,
                    details=result.to_dict(),
                    what="release",
                )
                append_event_in(
                    conn,
                    "dp_release",
                    version.ref,
                    {
                        "release_id": spent.id,
                        "statistic": statistic,
                        "column": column,
                        "mechanism": mechanism,
                        "epsilon": result.epsilon,
                        "delta": result.delta,
                        "epsilon_remaining": spent.budget.epsilon_remaining,
                        "delta_remaining": spent.budget.delta_remaining,
                    },
                )
            return DPRelease(spent.id, version.ref, result, spent.budget)
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")

"""finmodel.analysis.streaming and the streamed Monte Carlo run.

Oracles: ``numpy.percentile`` on the whole column (the streamed percentiles
must be the same floats, ``linear`` and ``inverted_cdf``), ``numpy.mean``
(to a few units in the last place) and the kept run of the same seed
(percentiles, fans, shares, the histogram's column and every line of
``draws.csv`` identical).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

import finmodel
from finmodel.analysis import montecarlo as mc_module
from finmodel.analysis import streaming
from finmodel.analysis.montecarlo import DrawsNotKeptError, run_montecarlo
from finmodel.analysis.streaming import Brackets, inverted_cdf_percentile, linear_percentile
from finmodel.analysis.uncertainty import normal_scores, sample, uncertainty_spec
from finmodel.outputs.report import draws_csv_lines

LEVELS = (0, 5, 25, 33.3, 50, 75, 95, 100)


def _bits(x) -> list:
    """The floats' bits, a zero's sign aside (among tied zeros, which one numpy's partition puts at a
    rank is its own affair)."""
    x = np.asarray(x, dtype=float) + 0.0  # -0.0 + 0.0 is +0.0
    return x.view(np.uint64).tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from(LEVELS),
)
def test_percentile_from_order_statistics_is_numpys_float(values, percent):
    x = np.array(values)
    s = np.sort(x)
    assert linear_percentile(lambda k: s[k], len(x), percent) == np.percentile(x, percent)
    assert (
        linear_percentile(lambda k: s[k], len(x), percent) == np.quantile(x, np.array([percent]) / 100.0)[0]
    )
    want = np.percentile(x, percent, method="inverted_cdf")
    assert inverted_cdf_percentile(lambda k: s[k], len(x), percent) == want


def _streamed(x: np.ndarray, late: np.ndarray, levels, pilot: int, chunk: int) -> Brackets:
    """``x`` ``(rows, column)`` streamed in chunks of ``chunk`` rows (given to Brackets column-first)."""
    b = Brackets(levels=levels, late=late)
    b.set_from_pilot(x[:pilot].T)
    for start in range(0, len(x), chunk):
        b.add(b.part(start, x[start : start + chunk].T))
    wanted = b.outside()
    if wanted:
        for start in range(0, len(x), chunk):
            b.add_side(b.side_values(wanted, start, x[start : start + chunk].T))
    assert not b.outside()
    return b


def _columns(rng, n):
    """Columns as the Monte Carlo gives them: smooth, with ties, with NaN (IRR), years with NaN (payback)."""
    smooth = rng.standard_normal(n) * 1e11
    ties = np.round(rng.standard_normal(n) * 3)
    irr = np.where(rng.random(n) < 0.1, np.nan, rng.standard_normal(n) * 0.05 + 0.1)
    payback = np.where(rng.random(n) < 0.2, np.nan, 2030.0 + rng.integers(0, 8, n))
    return np.column_stack([smooth, ties, irr, payback]), np.array([False, False, False, True])


@pytest.mark.parametrize("pilot", [50, 5000, 40_000])
def test_brackets_give_numpys_percentiles_mean_and_undefined_share(pilot):
    rng = np.random.default_rng(3)
    x, late = _columns(rng, 40_000)
    levels = [(5, 50, 95), (5, 25, 50, 75, 95), (5, 50, 95), (5, 50, 95)]
    b = _streamed(x, late, levels, pilot, chunk=3072)
    for c in range(x.shape[1]):
        q, mean, undefined = b.stats(c)
        col = x[:, c]
        assert undefined == np.mean(np.isnan(col))
        if late[c]:
            inf = np.where(np.isnan(col), np.inf, col)
            assert _bits(q) == _bits(np.percentile(inf, levels[c], method="inverted_cdf"))
            assert np.isnan(mean)  # some draws never pay back
        else:
            finite = col[np.isfinite(col)]
            assert _bits(q) == _bits(np.percentile(finite, levels[c]))
            assert mean == pytest.approx(np.mean(finite), rel=1e-14, abs=1e-300)


def _sorted_brackets(x: np.ndarray, late: bool, levels) -> tuple[list, list]:
    """A column's pilot brackets by their definition: order statistics of the sorted counted values."""
    v = np.sort(np.where(np.isnan(x), np.inf, x) if late else x[np.isfinite(x)])
    m, lo, hi = len(v), [], []
    for percent in levels:
        p = percent / 100.0
        width = streaming.Z_WIDTH * np.sqrt(max(p * (1 - p), 1.0 / m) / m) + streaming.EXTRA_RANKS / m
        lower, upper = int(np.floor((p - width) * (m - 1))), int(np.ceil((p + width) * (m - 1)))
        lo.append(v[lower] if lower > 0 else -np.inf)
        hi.append(v[upper] if upper < m - 1 else np.inf)
    return lo, hi


def test_pilot_brackets_are_the_sorted_pilots_order_statistics():
    """Brackets picked by partition, shared by repeated columns and spread over threads are those of a
    sort, column by column (a repeated column with other levels or lateness gets its own)."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    x, late = _columns(rng, 3000)
    near = x[:, 0].copy()
    near[1] = 1e15  # column 0's bits but in one row, which moves its upper brackets by a rank
    x = np.column_stack([x, x[:, 0], x[:, 3], x[:, 0], x[:, 2], near])
    late = np.append(late, [False, True, False, True, False])  # column 7: an IRR column counted as late
    levels = [(5, 50, 95), (5, 25, 50, 75, 95), (5, 50, 95), (5, 50, 95), (5, 50, 95), (5, 50, 95)]
    levels += [(10, 90), (5, 50, 95), (5, 50, 95)]  # column 6: column 0's bits with other levels
    serial = Brackets(levels=levels, late=late)
    serial.set_from_pilot(x.T)
    threaded = Brackets(levels=levels, late=late)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded.set_from_pilot(np.ascontiguousarray(x.T), map=pool.map)
    for c in range(x.shape[1]):
        lo, hi = _sorted_brackets(x[:, c], late[c], levels[c])
        L = len(levels[c])
        for b in (serial, threaded):
            assert _bits(b.lo[c, :L]) == _bits(lo) and _bits(b.hi[c, :L]) == _bits(hi), c
            assert np.isnan(b.lo[c, L:]).all() and np.isnan(b.hi[c, L:]).all()
    assert _bits(serial.lo[5]) == _bits(serial.lo[3]) and _bits(serial.lo[7]) != _bits(serial.lo[2])


def test_results_asked_midway_follow_the_chunks_added_after():
    """Percentiles and means found once are kept only until another chunk is added."""
    rng = np.random.default_rng(11)
    x, late = _columns(rng, 12_000)
    levels = [(5, 50, 95)] * 4
    b = Brackets(levels=levels, late=late)
    b.set_from_pilot(x[:4000].T)
    b.add(b.part(0, x[:4000].T))
    half = [b.stats(c) for c in range(4)]
    b.add(b.part(4000, x[4000:].T))
    for c in range(4):
        q, mean, _ = b.stats(c)
        col = x[:, c]
        want = (
            np.percentile(np.where(np.isnan(col), np.inf, col), levels[c], method="inverted_cdf")
            if late[c]
            else np.percentile(col[np.isfinite(col)], levels[c])
        )
        assert _bits(q) == _bits(want)
        if c == 0:  # the smooth column's percentiles move with the rows added
            assert q != half[c][0] and mean != half[c][1]
        if not late[c]:
            assert mean == pytest.approx(np.mean(col[np.isfinite(col)]), rel=1e-14)


def test_narrow_brackets_are_mended_by_a_second_pass(monkeypatch):
    """With brackets of zero width every level falls outside; the second pass still gives numpy's floats."""
    monkeypatch.setattr(streaming, "Z_WIDTH", 0.0)
    monkeypatch.setattr(streaming, "EXTRA_RANKS", 0)
    rng = np.random.default_rng(8)
    x, late = _columns(rng, 20_000)
    levels = [(5, 50, 95)] * 4
    b = Brackets(levels=levels, late=late)
    b.set_from_pilot(x[:100].T)
    for start in range(0, len(x), 1000):
        b.add(b.part(start, x[start : start + 1000].T))
    assert len(b.outside()) > 4  # the narrow brackets missed
    wanted = b.outside()
    for start in range(0, len(x), 1000):
        b.add_side(b.side_values(wanted, start, x[start : start + 1000].T))
    assert b.outside() == []
    finite = x[:, 0]
    assert b.stats(0)[0] == list(np.percentile(finite, (5, 50, 95)))


def test_means_do_not_depend_on_the_grouping_of_blocks():
    rng = np.random.default_rng(1)
    x, late = _columns(rng, 9000)
    levels = [(50,)] * 4
    a = _streamed(x, late, levels, 1000, chunk=1024)
    b = _streamed(x, late, levels, 1000, chunk=4096)
    for c in range(3):
        assert a.stats(c)[1] == b.stats(c)[1]


def test_scores_drawn_in_pieces_are_the_scores_drawn_at_once():
    spec = uncertainty_spec(finmodel.load_scenario(SCENARIOS / "base.yaml"))
    whole = normal_scores(spec, np.random.default_rng(4), 10_000)
    rng = np.random.default_rng(4)
    pieces = np.concatenate([normal_scores(spec, rng, m) for m in (1, 999, 4096, 4904)])
    assert np.array_equal(whole, pieces)
    values = sample(spec, 10_000, np.random.default_rng(4)).values
    assert set(values) == set(spec.paths)


# --------------------------------------------------------------------------- the streamed run


@pytest.fixture(scope="module")
def pair():
    """The base scenario's draws kept and streamed (pilot cut to 2,048 draws so brackets do the work)."""
    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    kept = run_montecarlo(base, draws=12_000, seed=21)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mc_module, "PILOT", 2048)
        streamed = run_montecarlo(base, draws=12_000, seed=21, keep=False, chunk_size=1500, threads=2)
        again = run_montecarlo(base, draws=12_000, seed=21, keep=False, chunk_size=4096, threads=1)
    return kept, streamed, again


def test_streamed_run_reports_the_kept_runs_figures(pair):
    kept, streamed, _ = pair
    assert kept.kept and not streamed.kept
    a, b = kept.summary(), streamed.summary()
    assert list(a.index) == list(b.index)
    for col in ("p5", "p50", "p95", "undefined"):
        assert _bits(a[col]) == _bits(b[col]), col
    np.testing.assert_allclose(b["mean"], a["mean"], rtol=1e-14)
    for case in kept.cases:
        assert _bits(kept.fan(case).to_numpy()) == _bits(streamed.fan(case).to_numpy())
    assert kept.probabilities() == streamed.probabilities()
    assert np.array_equal(kept.treasury_cost(), streamed.treasury_cost())
    assert streamed.draws == kept.draws == 12_000


def test_streamed_run_is_the_same_for_any_chunk_size_and_threads(pair):
    _, streamed, again = pair
    assert streamed.chunk_size == 2048  # rounded up to a whole number of blocks
    a, b = streamed.summary(), again.summary()
    assert _bits(a.to_numpy()) == _bits(b.to_numpy())


def test_streamed_draws_csv_evaluates_the_draws_again_line_for_line(pair):
    kept, streamed, _ = pair
    assert list(draws_csv_lines(streamed)) == list(draws_csv_lines(kept, block=5000))


def test_streamed_run_says_which_values_it_kept(pair):
    _, streamed, _ = pair
    with pytest.raises(DrawsNotKeptError, match="streamed and kept only fiscal_cost_window_usd"):
        streamed.values("npv_usd", "with")
    assert streamed.metrics is None and streamed.cumulative_cash_flow is None


def test_a_generator_as_seed_is_not_advanced():
    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    rng = np.random.default_rng(9)
    before = rng.bit_generator.state
    a = run_montecarlo(base, draws=50, seed=rng)
    assert rng.bit_generator.state == before
    b = run_montecarlo(base, draws=50, seed=np.random.default_rng(9))
    assert np.array_equal(a.metrics["npv_usd"], b.metrics["npv_usd"])


def test_compiled_tally_equals_the_numpy_statement():
    rng = np.random.default_rng(12)
    x, late = _columns(rng, 5000)
    b = Brackets(levels=[(5, 50, 95), (5, 25, 50, 75, 95), (50,), (5, 95)], late=late)
    b.set_from_pilot(x[:700].T)
    fast, plain = b.part(0, x.T), b.part_numpy(0, x.T)
    for name in ("valid", "undefined", "below", "equal_lo", "equal_hi"):
        assert np.array_equal(getattr(fast, name), getattr(plain, name)), name
    assert np.array_equal(fast.block_sums, plain.block_sums)
    assert np.array_equal(fast.inside_counts, plain.inside_counts)
    assert np.array_equal(fast.inside, plain.inside)
    for c in range(x.shape[1]):
        for j in range(len(b.levels[c])):
            inside = fast.values(c, j)
            lo, hi = b.lo[c, j], b.hi[c, j]
            col = b.prepared(x.T)[c]
            assert np.array_equal(inside, col[(col > lo) & (col < hi)]), (c, j)


def test_repeated_columns_are_tallied_once_with_the_same_result():
    """A column with an earlier column's pilot (so its brackets) and bits takes that column's tally;
    one that repeats it in the pilot but not in this chunk is tallied on its own: either way the
    numpy statement's counts, block sums and values."""
    rng = np.random.default_rng(13)
    x, late = _columns(rng, 6000)
    later = x[:, 0].copy()
    later[5000] = 1e15  # the same as column 0 in the pilot, not in the chunk below
    x = np.column_stack([x, x[:, 0], x[:, 3], later, x[:, 2]])
    late = np.append(late, [False, True, False, False])
    levels = [(5, 50, 95), (5, 25, 50, 75, 95), (50,), (5, 95), (5, 50, 95), (5, 95), (5, 50, 95), (50,)]
    b = Brackets(levels=levels, late=late)
    b.set_from_pilot(x[:700].T)
    assert b._same.tolist() == [0, 1, 2, 3, 0, 3, 0, 2]  # the pilot's repeats
    fast, plain = b.part(0, x.T), b.part_numpy(0, x.T)
    for name in ("valid", "undefined", "below", "equal_lo", "equal_hi", "inside_counts", "block_sums"):
        assert np.array_equal(getattr(fast, name), getattr(plain, name)), name
    assert np.array_equal(fast.inside.view(np.uint64), plain.inside.view(np.uint64))
    assert not np.array_equal(fast.below[6], fast.below[0])  # it parted from column 0: its own counts


def test_streamed_cases_debt_and_guarantee_report_the_kept_runs_figures():
    """credit_vs_guarantee (four cases, debt, a guarantee; 161 streamed columns, many of them equal
    or constant): every percentile, fan and share of the streamed run equals the kept run's, for
    two chunk sizes and thread counts."""
    cvg = finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    kept = run_montecarlo(cvg, draws=6_000, seed=8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mc_module, "PILOT", 1024)
        runs = [
            run_montecarlo(cvg, draws=6_000, seed=8, keep=False, chunk_size=1024, threads=2),
            run_montecarlo(cvg, draws=6_000, seed=8, keep=False, chunk_size=3000, threads=1),
        ]
    a = kept.summary()
    for streamed in runs:
        b = streamed.summary()
        assert list(a.index) == list(b.index)
        for col in ("p5", "p50", "p95", "undefined"):
            assert _bits(a[col]) == _bits(b[col]), col
        np.testing.assert_allclose(b["mean"], a["mean"], rtol=1e-13, atol=1e-3)
        for case in kept.cases:
            assert _bits(kept.fan(case).to_numpy()) == _bits(streamed.fan(case).to_numpy())
        assert kept.probabilities() == streamed.probabilities()

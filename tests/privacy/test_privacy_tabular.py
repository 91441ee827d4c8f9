"""k-anonymity, l-diversity, t-closeness: measuring, generalising, suppressing, and the k_anonymize step.

All data is generated here. Achieved k and l are checked by an independent count (a plain
Counter over the output rows), never by the measure function under test.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest
import yaml

from datamoat.errors import DatamoatError, StepError
from datamoat.pipeline.registry import create_step
from datamoat.privacy.tabular import anonymize_table, build_hierarchy, measure
from datamoat.privacy.tabular.anonymize import SUPPRESSED_REASON, KAnonymize

DISEASES = ["flu", "cold", "asthma", "diabetes", "ulcer", "gastritis"]
STATUS_TREE = {
    "single": "unmarried",
    "divorced": "unmarried",
    "widowed": "unmarried",
    "married": "partnered",
    "civil_union": "partnered",
    "unmarried": "any",
    "partnered": "any",
}


def people(n: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            {
                "pid": f"P{i:05d}",
                "age": min(90, max(18, int(rng.gauss(45, 15)))),
                "zip": rng.choice(["021", "022", "100", "101", "606"]) + f"{rng.randrange(100):02d}",
                "sex": rng.choice(["f", "m"]),
                "status": rng.choices(list(STATUS_TREE)[:5], weights=[5, 2, 1, 5, 1])[0],
                "disease": rng.choice(DISEASES),
                "salary": rng.randrange(20, 120) * 1000,
            }
        )
    return pd.DataFrame(rows)


def class_counts(df: pd.DataFrame, qi: list[str]) -> Counter:
    """Independent count: rows per combination of QI values, with plain Python."""
    return Counter(tuple(row[c] for c in qi) for row in df.to_dict("records"))


def distinct_sensitive(df: pd.DataFrame, qi: list[str], column: str) -> dict[tuple, set]:
    out: dict[tuple, set] = defaultdict(set)
    for row in df.to_dict("records"):
        out[tuple(row[c] for c in qi)].add(row[column])
    return out


# --- measure ---------------------------------------------------------------------------------


def test_measure_hand_computed_values():
    df = pd.DataFrame({"a": ["x", "x", "x", "y", "y"], "s": ["p", "p", "q", "p", "q"]})
    m = measure(df, ["a"], ["s"])
    assert (m.k, m.classes, m.class_sizes) == (2, 2, {2: 1, 3: 1})
    assert m.l_distinct == {"s": 2}
    # class x: p=2/3, q=1/3 -> exp(H) = exp(-(2/3 ln 2/3 + 1/3 ln 1/3)); class y: exp(ln 2) = 2
    assert m.l_entropy["s"] == pytest.approx(math.exp(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))))
    # total variation: overall p=3/5, q=2/5; class x: |2/3-3/5| + |1/3-2/5| -> 1/15; class y: 1/10
    assert m.t["s"] == pytest.approx(0.1)
    assert m.discernibility == 3 * 3 + 2 * 2
    assert m.c_avg == pytest.approx(5 / 2 / 2)
    assert m.rows_below(3) == 2


def test_ordered_emd_matches_the_t_closeness_paper():
    # Li, Li, Venkatasubramanian (2007): salaries 3k..11k; {3k,4k,5k} is 0.375 away, {6k,8k,11k} 0.167.
    salaries = [3, 4, 5, 6, 7, 8, 9, 10, 11]
    group = ["a", "a", "a", "b", "c", "b", "c", "c", "b"]
    m = measure(pd.DataFrame({"g": group, "salary": salaries}), ["g"], ["salary"])
    assert m.t["salary"] == pytest.approx(0.375)
    only_b = pd.DataFrame({"g": ["b" if g == "b" else "rest" for g in group], "salary": salaries})
    from datamoat.privacy.tabular.measure import class_closeness, combine_codes, value_codes

    ids, g = combine_codes([pd.factorize(only_b["g"])[0]])
    codes, mm, ordered = value_codes(only_b["salary"])
    emd = class_closeness(ids, g, codes, mm, ordered)
    assert emd[ids[only_b["g"].tolist().index("b")]] == pytest.approx(1 / 6)


def test_measure_missing_qi_values_form_their_own_class():
    df = pd.DataFrame({"a": ["x", None, None, "x"], "s": [1, 2, 3, 4]})
    m = measure(df, ["a"], ["s"])
    assert (m.classes, m.k) == (2, 2)


# --- hierarchies -------------------------------------------------------------------------------


def test_interval_hierarchy_levels_are_nested_ranges():
    ages = pd.Series([18, 23, 30, 39, 41, 67, 90])
    h = build_hierarchy("age", ages, {"width": 10})
    assert h.generalize(ages, 1).tolist() == ["10-19", "20-29", "30-39", "30-39", "40-49", "60-69", "90-99"]
    assert h.generalize(ages, 2).tolist()[:3] == ["0-19", "20-39", "20-39"]
    assert h.generalize(ages, h.levels - 1).tolist() == ["*"] * 7
    assert h.generalize(ages, 0).tolist() == ["18", "23", "30", "39", "41", "67", "90"]
    for level in range(1, h.levels):  # every level coarsens the one below
        below, above = h.generalize(ages, level - 1), h.generalize(ages, level)
        assert all(len(set(above[below == b])) == 1 for b in set(below))


def test_tree_hierarchy_from_yaml_and_mask_default():
    status = pd.Series(["single", "married", "widowed", "civil_union"])
    h = build_hierarchy("status", status, yaml.safe_load(yaml.safe_dump(STATUS_TREE)))
    assert h.generalize(status, 1).tolist() == ["unmarried", "partnered", "unmarried", "partnered"]
    assert h.generalize(status, h.levels - 1).tolist() == ["*"] * 4
    zips = pd.Series(["02139", "02141", "10001"])
    hz = build_hierarchy("zip", zips)
    assert hz.generalize(zips, 2).tolist() == ["021**", "021**", "100**"]


# --- anonymize_table ---------------------------------------------------------------------------


@pytest.mark.parametrize("search", ["full", "greedy"])
def test_anonymize_reaches_k_by_independent_count(search):
    df = people()
    qi = ["age", "zip", "sex"]
    before = class_counts(df, qi)
    assert min(before.values()) < 5  # the raw data is not 5-anonymous
    result = anonymize_table(df, qi, ["disease"], k=5, max_suppression=0.05, search=search)
    counts = class_counts(result.table, qi)
    assert min(counts.values()) >= 5
    assert result.metrics.k == min(counts.values())
    assert result.suppressed == len(df) - len(result.table) <= 0.05 * len(df)
    assert set(result.table.index).isdisjoint(result.suppressed_index)
    assert sorted([*result.table.index, *result.suppressed_index]) == list(df.index)
    ages = set(result.table["age"])
    assert ages == {"*"} or all("-" in a or a.isdigit() for a in ages)
    assert (
        result.table["pid"].tolist() == df.loc[result.table.index, "pid"].tolist()
    )  # other columns untouched
    assert 0 <= result.ncp <= 1


def test_full_search_is_no_worse_than_greedy():
    df = people(seed=3)
    qi = ["age", "zip", "sex"]
    full = anonymize_table(df, qi, ["disease"], k=4, search="full")
    greedy = anonymize_table(df, qi, ["disease"], k=4, search="greedy")
    assert full.ncp <= greedy.ncp + 1e-12
    assert full.nodes_evaluated >= greedy.nodes_evaluated


def test_anonymize_with_l_diversity_and_tree_hierarchy():
    df = people(800, seed=11)
    qi = ["age", "status", "sex"]
    result = anonymize_table(
        df,
        qi,
        ["disease"],
        k=5,
        l=3,
        max_suppression=0.05,
        hierarchies={"status": STATUS_TREE, "age": {"width": 5}},
    )
    counts = class_counts(result.table, qi)
    assert min(counts.values()) >= 5
    diversity = distinct_sensitive(result.table, qi, "disease")
    assert min(len(v) for v in diversity.values()) >= 3
    assert result.metrics.l_distinct["disease"] == min(len(v) for v in diversity.values())
    allowed = set(STATUS_TREE) | set(STATUS_TREE.values()) | {"*"}
    assert set(result.table["status"]) <= allowed


def test_anonymize_with_t_closeness():
    df = people(800, seed=5)
    qi = ["age", "sex"]
    result = anonymize_table(df, qi, ["salary"], k=5, t=0.2, max_suppression=0.05)
    assert not result.warnings
    # independent ordered EMD per class against the released table
    values = sorted(set(result.table["salary"]))
    pos = {v: i for i, v in enumerate(values)}
    overall = Counter(result.table["salary"])
    n = len(result.table)
    worst = 0.0
    for _, rows in result.table.groupby(qi):
        cls = Counter(rows["salary"])
        cum, total = 0.0, 0.0
        for v in values[:-1]:
            cum += cls[v] / len(rows) - overall[v] / n
            total += abs(cum)
        worst = max(worst, total / (len(values) - 1))
        assert pos  # keeps the mapping used
    assert worst <= 0.2 + 1e-9
    assert result.metrics.t["salary"] == pytest.approx(worst)


def test_frequency_hierarchy_merges_rare_values():
    rng = random.Random(1)
    df = pd.DataFrame(
        {
            "city": [rng.choice(["a"] * 20 + ["b"] * 20 + list("cdefghij")) for _ in range(400)],
            "s": [rng.choice("xyz") for _ in range(400)],
        }
    )
    result = anonymize_table(df, ["city"], ["s"], k=30, max_suppression=0.0)
    counts = class_counts(result.table, ["city"])
    assert min(counts.values()) >= 30
    assert {("other",), ("a",), ("b",)} == set(counts)


def test_unreachable_targets_raise():
    df = pd.DataFrame({"age": list(range(20, 40)), "s": ["x", "y"] * 10})
    with pytest.raises(DatamoatError, match="cannot reach k=5, l=3"):
        anonymize_table(df, ["age"], ["s"], k=5, l=3)
    with pytest.raises(DatamoatError, match="not a quasi-identifier"):
        anonymize_table(df, ["age"], ["s"], k=2, hierarchies={"s": {}})
    with pytest.raises(DatamoatError, match="need at least one sensitive"):
        anonymize_table(df, ["age"], [], k=2, l=2)


# --- the pipeline step -------------------------------------------------------------------------


def test_step_parameters_are_checked():
    with pytest.raises(StepError, match="'max_suppression'"):
        create_step("k_anonymize", {"k": 5, "max_suppression": 1.5})
    with pytest.raises(StepError, match="'k'"):
        create_step("k_anonymize", {"k": 0})
    step = create_step("k_anonymize", {"k": 3, "hierarchies": {"status": STATUS_TREE}})
    assert isinstance(step, KAnonymize) and step.params()["k"] == 3


def test_k_anonymize_step_in_a_workspace(tmp_path: Path):
    from datamoat.workspace import Workspace

    df = people(700, seed=21)
    csv = tmp_path / "people.csv"
    df.to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    try:
        v = ws.ingest(
            csv,
            name="people",
            id="pid",
            roles={"quasi_identifier": ["age", "zip", "sex"], "sensitive": ["disease"]},
        )
        recipe = [
            {
                "step": "k_anonymize",
                "k": 5,
                "l": 2,
                "max_suppression": 0.05,
                "hierarchies": {"age": {"width": 5}},
            }
        ]
        result = ws.apply(v.ref, recipe, workers=1)
        out = result.version
        table = out.to_arrow().to_pandas()
        qi = ["age", "zip", "sex"]
        counts = class_counts(table, qi)
        assert min(counts.values()) >= 5
        assert min(len(s) for s in distinct_sensitive(table, qi, "disease").values()) >= 2
        assert result.rows_in == 700
        dropped = result.rows_in - result.rows_out
        assert dropped <= 35
        assert result.dropped_by_reason.get(SUPPRESSED_REASON, 0) == dropped
        excluded = out.excluded()
        assert excluded.num_rows == dropped
        # the untouched columns of the kept rows are the input's, matched by row id
        original = v.to_pandas()
        kept = table.set_index("_dm_row_id")
        assert (kept["disease"] == original.loc[kept.index, "disease"]).all()
        assert {f.name: str(f.type) for f in out.schema if f.name in qi} == {c: "string" for c in qi}
    finally:
        ws.close()

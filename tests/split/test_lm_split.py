"""The language-model split keeps documents and blocks whole, puts the contiguous tail in
validation and test, and no validation text is in training."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
from corpusgen import document, paragraph

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.split.lm import lm_split_indices

ROLES = ColumnRoles.from_dict({"text": "text"})


def blocks_table(n: int, seed: int = 0, shuffle: bool = True) -> pa.Table:
    rng = random.Random(seed)
    rows = [{"text": paragraph(rng), "source_file": "book.txt", "block": i} for i in range(n)]
    if shuffle:  # the split must follow the block index, not the row order
        rng.shuffle(rows)
    t = pa.Table.from_pylist(rows)
    return t.append_column(ROW_ID_COLUMN, pa.array([f"r{i}" for i in range(n)]))


def test_blocks_split_into_contiguous_ranges_train_then_valid_then_test():
    t = blocks_table(100)
    idx = lm_split_indices(t, ROLES, valid_size=0.1, test_size=0.1)
    by_block = idx[np.argsort(t.column("block").to_numpy())]
    # reading order: a run of train, then of valid, then of test; never interleaved
    assert (np.diff(by_block.astype(int)) >= 0).all()
    assert set(by_block.tolist()) == {0, 1, 2}
    chars = np.array([len(s) for s in t.column("text").to_pylist()])
    for code, share in ((1, 0.1), (2, 0.1)):
        assert abs(chars[idx == code].sum() / chars.sum() - share) < 0.03
    train_lines = {line for s, c in zip(t.column("text").to_pylist(), idx, strict=True) if c == 0
                   for line in s.split("\n")}
    held = [line for s, c in zip(t.column("text").to_pylist(), idx, strict=True) if c != 0 for line in s.split("\n")]
    assert held and not train_lines.intersection(held)
    assert (lm_split_indices(t, ROLES, valid_size=0.1, test_size=0.1, seed=7) == idx).all()  # no randomness


def test_several_files_are_read_in_name_then_block_order():
    rng = random.Random(1)
    rows = [{"text": paragraph(rng), "source_file": f, "block": b} for f in ("b.txt", "a.txt") for b in range(10)]
    t = pa.Table.from_pylist(rows)
    idx = lm_split_indices(t, ROLES, valid_size=0.2, test_size=0.0)
    held = {(r["source_file"], r["block"]) for r, c in zip(rows, idx, strict=True) if c == 1}
    first = min(b for _, b in held)
    assert 6 <= first <= 8 and held == {("b.txt", b) for b in range(first, 10)}  # the tail of the last file


def test_documents_go_whole_and_copies_stay_together():
    rng = random.Random(2)
    docs = [document(rng) for _ in range(40)]
    docs.append(docs[3].upper())  # an exact copy (case-insensitive) of document 3
    t = pa.table({ROW_ID_COLUMN: [f"d{i}" for i in range(len(docs))], "text": docs})
    idx = lm_split_indices(t, ROLES, valid_size=0.2, test_size=0.1, seed=3)
    assert idx[3] == idx[40]
    counts = np.bincount(idx, minlength=3)
    assert counts[1] >= 6 and counts[2] >= 3
    other = lm_split_indices(t, ROLES, valid_size=0.2, test_size=0.1, seed=4)
    assert (other != idx).any()  # by document: the seed picks which


def test_line_rows_of_one_file_are_contiguous_too():
    rng = random.Random(3)
    lines = paragraph(rng, sentences=50).split("\n")
    t = pa.table({"text": lines, "source_file": ["f.txt"] * 50, "line": list(range(1, 51))})
    idx = lm_split_indices(t, ROLES, valid_size=0.2, test_size=0.0)
    assert idx.tolist() == sorted(idx.tolist()) and 8 <= int((idx == 1).sum()) <= 12


def test_take_lm_split_step_keeps_one_part_and_names_the_others():
    from conftest import run_step

    from datamoat.split.step import TakeLmSplit

    t = blocks_table(30, shuffle=False)
    b = t.to_batches()[0]
    kept = run_step(TakeLmSplit(keep="valid", valid_size=0.2, test_size=0.1), b, ROLES)
    reasons = kept.column("_dm_drop").to_pylist()
    assert reasons[:5] == ["split: train"] * 5 and reasons[-1] == "split: test"
    kept_rows = [i for i, r in enumerate(reasons) if r is None]
    assert 4 <= len(kept_rows) <= 8 and kept_rows == list(range(kept_rows[0], kept_rows[-1] + 1))

"""RayExecutor: the same recipes give the same versions as LocalExecutor, near-dedup finds the
same clusters, and a worker killed mid-apply is retried or fails the command cleanly.

All tests share the session's one local Ray (the ``ray_session`` fixture, 2 CPUs)."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

pytest.importorskip("ray")

from conftest import RAY_TEST_KEY  # noqa: E402

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles  # noqa: E402
from datamoat.errors import StepError, UnavailableError  # noqa: E402
from datamoat.pipeline import LocalExecutor, Recipe, Step  # noqa: E402
from datamoat.pipeline.apply import apply_recipe  # noqa: E402
from datamoat.pipeline.executor_ray import RayExecutor  # noqa: E402
from datamoat.pipeline.registry import STEPS, load_builtin_steps  # noqa: E402

ROLES = ColumnRoles.from_dict({"text": "text", "label": "label"})
WORDS = (
    "the order arrived late and the box was damaged please send a refund for my card payment "
    "account password reset login app crashes when I open settings delivery address change "
    "invoice missing thanks for the quick help support team weekend hours store near me"
).split()
PERSONAL = ["write to jane.doe@example.com", "call +1 415 555 0100", "card 4111 1111 1111 1111"]


def corpus(n: int, seed: int) -> pa.Table:
    """Support-ticket-like rows: near and exact copies, blanks, short texts, personal data,
    three labels (one noisy), an ``age`` with gaps and a ``zip`` code."""
    rng = random.Random(seed)
    texts: list[str | None] = []
    for _ in range(n):
        roll = rng.random()
        if texts and roll < 0.15:  # near copy: one word changed
            words = rng.choice([t for t in texts if t and t.split()]).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))
        elif texts and roll < 0.22:  # exact copy up to case and spaces
            texts.append("  " + rng.choice([t for t in texts if t and t.split()]).upper())
        elif roll < 0.25:
            texts.append(rng.choice([None, "", "   ", "ok"]))
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16)))
            texts.append(text + (" " + rng.choice(PERSONAL) if roll > 0.93 else ""))
    labels = [rng.choice(["billing", "billing", "tech", "shipping"]) for _ in range(n)]
    return pa.table({
        ROW_ID_COLUMN: [f"r{i:05d}" for i in range(n)],
        "text": texts,
        "label": labels,
        "age": [None if rng.random() < 0.1 else rng.choice([23, 31, 31, 45, 52]) for _ in range(n)],
        "zip": [rng.choice(["10115", "10117", "80331", "80333"]) for _ in range(n)],
    })


TABLE = corpus(900, seed=7)

RECIPES: dict[str, list[dict]] = {
    "row steps and dedup": [
        {"step": "normalize_text"},
        {"step": "strip_whitespace"},
        {"step": "drop_missing", "columns": ["text"]},
        {"step": "impute_missing", "column": "age", "strategy": "most_frequent"},
        {"step": "length_filter", "min_chars": 5},
        {"step": "min_words", "min_words": 3},
        {"step": "quality_filter", "min_words": 3, "max_symbol_word_ratio": 0.5},
        {"step": "repetition_filter", "max_top_2gram_share": 0.3},
        {"step": "language_filter", "allowed": ["en"]},
        {"step": "pii_redact", "pii_mode": "fast"},
        {"step": "exact_dedup", "ignore_case": True, "ignore_whitespace": True},
        {"step": "duplicate_rows", "ignore_columns": ["age"]},
        {"step": "near_dedup"},
        {"step": "lowercase"},
        {"step": "rebalance", "max_ratio": 1.5},
        {"step": "label_issues", "folds": 3},
    ],
    "encryption": [{"step": "encrypt_columns", "columns": ["zip"]}],
    "split": [{"step": "take_split", "keep": "train", "test_size": 0.25}],
    "lm split": [{"step": "take_lm_split", "keep": "valid"}],
    "k-anonymity": [{"step": "k_anonymize", "k": 3, "quasi_identifiers": ["age", "zip"]}],
    "canaries": [{"step": "insert_canaries", "texts": ["the canary says 4417 twice"], "repeats": 3}],
}


def source(table: pa.Table, rows: int) -> Iterator[pa.RecordBatch]:
    return iter(table.to_batches(max_chunksize=rows))


def run_both(recipe: Recipe | list[dict], table: pa.Table = TABLE, keep_stats: bool = True):
    """(output, exclusions) under LocalExecutor and under RayExecutor, each as a pair of tables.

    The input comes in batches of 250 rows; Ray cuts them into blocks of 100 rows, so blocks,
    batches and the exclusions' order all differ from the local run unless the executor
    puts them back."""
    results = []
    for executor in (LocalExecutor(workers=1), RayExecutor(workers=2, block_rows=100)):
        steps = Recipe.from_list(recipe) if isinstance(recipe, list) else recipe
        with executor.run(steps, ROLES, lambda: source(table, 250), keep_stats=keep_stats) as run:
            results.append((run.to_table(), run.exclusions_table()))
    return results


@pytest.fixture
def encryption_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAMOAT_KEY", RAY_TEST_KEY)  # the Ray workers have the same one


def parity_cases() -> list[str]:
    """The recipes above, then each registered step they do not use, alone with its defaults
    (a step added later is checked too; give it parameters here if its defaults cannot run)."""
    load_builtin_steps()
    used = {entry["step"] for entries in RECIPES.values() for entry in entries}
    return [n for n in RECIPES if n != "encryption"] + sorted(set(STEPS.known()) - used)


@pytest.mark.parametrize("name", parity_cases())
def test_every_step_gives_the_same_rows_and_exclusions_on_ray(ray_session, name):
    (local_out, local_excl), (ray_out, ray_excl) = run_both(RECIPES.get(name, [{"step": name}]))
    assert local_out.num_rows > 0
    assert local_excl.num_rows > 0 or not local_out.equals(TABLE)  # the recipe does something
    assert ray_out.equals(local_out)
    assert ray_excl.equals(local_excl)  # same order too, so the version hash is the same


def test_encryption_on_ray_decrypts_to_the_same_values(ray_session, encryption_key):
    """Encryption draws a random nonce per value (two local runs differ too), so the Ray run's
    ciphertexts are compared by what they decrypt to, with the workers' key."""
    from datamoat.privacy.encryption import decrypt_values

    (local_out, _), (ray_out, _) = run_both(RECIPES["encryption"])
    key = bytes.fromhex(RAY_TEST_KEY)
    ids = local_out.column(ROW_ID_COLUMN)
    assert ray_out.column(ROW_ID_COLUMN).equals(ids)
    assert pa.types.is_binary(ray_out.schema.field("zip").type)
    assert decrypt_values(ray_out.column("zip"), ids, "zip", key, pa.string()).equals(
        decrypt_values(local_out.column("zip"), ids, "zip", key, pa.string())
    )
    assert ray_out.drop_columns(["zip"]).equals(local_out.drop_columns(["zip"]))


def test_default_recipe_makes_the_same_version_on_ray(ray_session, tmp_path, cli):
    """``datamoat clean --executor ray`` registers the version ``--executor local`` does (same
    content hash: data and exclusions), and the exclusions match as sets."""
    path = tmp_path / "tickets.parquet"
    import pyarrow.parquet as pq

    pq.write_table(TABLE.drop_columns([ROW_ID_COLUMN]), path)
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    assert cli("ingest", str(path), "--name", "t", "--text", "text", "--label", "label")[0] == 0
    code, out, err = cli("clean", "t@1", "--output", "local", "--executor", "local", "--json")
    assert code == 0, err
    code, out_ray, err = cli("clean", "t@1", "--output", "onray", "--executor", "ray", "--json")
    assert code == 0, err
    assert err == ""  # no third-party log lines on the terminal
    local, onray = json.loads(out), json.loads(out_ray)
    assert local["output"].split("@")[1] == onray["output"].split("@")[1]
    assert local["dropped"] == onray["dropped"] and local["rows_out"] == onray["rows_out"]

    from datamoat.workspace import Workspace

    with Workspace.open(tmp_path / "ws") as ws:
        a, b = ws.version(local["output"]).excluded(), ws.version(onray["output"]).excluded()
    assert sorted(map(json.dumps, a.to_pylist())) == sorted(map(json.dumps, b.to_pylist()))


def near_dup_corpus(n: int, seed: int) -> pa.Table:
    """Random texts with injected near duplicates (chains of one-word edits) and exact copies."""
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(n):
        if texts and rng.random() < 0.3:
            words = rng.choice(texts).split()
            for _ in range(rng.randint(0, 2)):
                words[rng.randrange(len(words))] = f"w{rng.randrange(10_000)}"
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(f"w{rng.randrange(10_000)}" for _ in range(rng.randint(8, 30))))
    groups = [rng.choice(["a", "b"]) for _ in range(n)]
    return pa.table({ROW_ID_COLUMN: [f"n{i}" for i in range(n)], "text": texts, "label": groups})


@pytest.mark.parametrize("params", [{}, {"threshold": 0.5, "within": "label"}])
def test_near_dedup_on_ray_finds_exactly_the_local_clusters(ray_session, params):
    table = near_dup_corpus(1500, seed=3)
    (local_out, local_excl), (ray_out, ray_excl) = run_both([{"step": "near_dedup", **params}], table)
    clusters = {json.loads(s)["_dm_near_dup_of"] for s in local_excl.column("_dm_stats").to_pylist()}
    assert len(clusters) > 50  # the injected copies are found
    assert ray_excl.column(ROW_ID_COLUMN).to_pylist() == local_excl.column(ROW_ID_COLUMN).to_pylist()
    assert ray_excl.column("_dm_stats").to_pylist() == local_excl.column("_dm_stats").to_pylist()
    assert ray_out.equals(local_out)


class KillWorker(Step):
    """Kills the worker process that applies it: once (when ``marker`` does not exist yet, which
    it then creates) or, with ``always``, every time; the driver process is never killed."""

    name = "kill_worker"
    kind = "row"

    def __init__(self, *, marker: str, driver_pid: int, always: bool = False) -> None:
        self.marker = marker
        self.driver_pid = driver_pid
        self.always = always

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if batch.num_rows and os.getpid() != self.driver_pid and (self.always or not os.path.exists(self.marker)):
            Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return batch


@pytest.fixture
def workspace(tmp_path: Path):
    import pyarrow.parquet as pq

    from datamoat.workspace import Workspace

    path = tmp_path / "t.parquet"
    pq.write_table(TABLE.drop_columns([ROW_ID_COLUMN]), path)
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest(path, name="t", text="text", label="label")
    yield ws
    ws.close()


def kill_recipe(tmp_path: Path, always: bool) -> Recipe:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    kill = KillWorker(marker=str(tmp_path / "killed"), driver_pid=os.getpid(), always=always)
    return Recipe([*Recipe.from_list([{"step": "strip_whitespace"}]).steps, kill,
                   *Recipe.from_list([{"step": "exact_dedup"}]).steps])


class FailOnWorker(Step):
    """Raises a StepError when applied outside the driver (binding probes it in the driver)."""

    name = "fail_on_worker"
    kind = "row"

    def __init__(self, *, driver_pid: int) -> None:
        self.driver_pid = driver_pid

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if os.getpid() != self.driver_pid:
            raise StepError("step 'fail_on_worker': row r00001 has no usable text.")
        return batch


def test_a_step_error_on_a_worker_reaches_the_caller_as_itself(ray_session):
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    recipe = Recipe([FailOnWorker(driver_pid=os.getpid())])
    with pytest.raises(StepError, match=r"^step 'fail_on_worker': row r00001 has no usable text\.$"):
        with RayExecutor(workers=2).run(recipe, ROLES, lambda: source(TABLE, 300)) as run:
            run.drain()


def test_a_worker_killed_once_is_retried_and_the_version_is_right(ray_session, workspace, tmp_path):
    recipe = kill_recipe(tmp_path, always=False)
    on_ray = apply_recipe(workspace.catalog, workspace.store, workspace.version("t@1"), recipe,
                          output="ray", executor=RayExecutor(workers=2, block_rows=200))
    assert (tmp_path / "killed").exists()  # a worker did die
    local = apply_recipe(workspace.catalog, workspace.store, workspace.version("t@1"), recipe,
                         output="local", executor=LocalExecutor(workers=1))
    assert on_ray.version.hash == local.version.hash
    assert on_ray.rows_out == local.rows_out


def test_a_worker_that_keeps_dying_fails_with_one_sentence_and_no_version(ray_session, workspace, tmp_path):
    recipe = kill_recipe(tmp_path, always=True)
    with pytest.raises(UnavailableError) as err:
        apply_recipe(workspace.catalog, workspace.store, workspace.version("t@1"), recipe,
                     output="ray", executor=RayExecutor(workers=2, max_retries=1, block_rows=300))
    message = str(err.value)
    assert "\n" not in message and "no version was written" in message
    assert workspace.catalog.find_dataset("ray") is None
    assert [v.ordinal for v in workspace.versions("t")] == [1]


def test_a_run_out_of_memory_says_so_in_one_sentence(ray_session):
    """Ray's memory monitor kills tasks when the node is nearly full; after the retries the
    error names memory and what to change, in one sentence."""
    import ray.exceptions

    def stream():
        yield from ()
        raise ray.exceptions.OutOfMemoryError("Task was killed due to the node running low on memory.\nMemory on the node ...")

    with pytest.raises(UnavailableError) as err:
        list(RayExecutor(workers=2, max_retries=3)._guarded(stream()))
    message = str(err.value)
    assert "\n" not in message and "ran out of memory" in message and "3 retries" in message
    assert message.endswith("no version was written.")

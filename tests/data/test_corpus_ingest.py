"""Corpus ingest: a folder is one row per file, one long file is ordered blocks of paragraphs,
a table file keeps its rows; bad input is one sentence and writes nothing."""

from __future__ import annotations

import random

import pytest
from conftest import write_file
from corpusgen import document, long_text

from datamoat.errors import InputError


def test_folder_is_one_row_per_file_without_labels(workspace, tmp_path):
    rng = random.Random(1)
    docs = {f"notes/{name}.md": document(rng) for name in ("a", "b", "c")}
    docs["top.txt"] = document(rng)
    for name, text in docs.items():
        write_file(tmp_path / "corpus", name, text)
    v = workspace.ingest_corpus(tmp_path / "corpus", name="docs")
    t = v.to_arrow()
    assert v.num_rows == 4 and "label" not in t.column_names
    assert dict(zip(t.column("source_file").to_pylist(), t.column("text").to_pylist(), strict=True)) == docs
    assert v.roles.get("text") == "text"


def test_long_file_becomes_ordered_blocks_of_whole_paragraphs(workspace, tmp_path):
    text = long_text(seed=2, paragraphs=60)
    path = write_file(tmp_path, "book.txt", text)
    v = workspace.ingest_corpus(path, name="book", block_chars=1000)
    t = v.to_arrow().sort_by("block")
    blocks = t.column("text").to_pylist()
    assert t.column("block").to_pylist() == list(range(len(blocks))) and len(blocks) > 5
    # the blocks are the file's paragraphs, in order, cut only at paragraph ends
    paragraphs = [p for p in text.strip().split("\n\n")]
    assert [p for b in blocks for p in b.split("\n\n")] == paragraphs
    assert all(len(b) >= 1000 for b in blocks[:-1])
    lines = text.split("\n")
    for first, block in zip(t.column("line").to_pylist(), blocks, strict=True):
        assert lines[first - 1] == block.split("\n")[0]


def test_a_long_paragraph_is_cut_at_line_ends(workspace, tmp_path):
    lines = [f"{i} " + "word " * 20 for i in range(100)]  # one paragraph of 100 lines, ~10 kB
    path = write_file(tmp_path, "run.txt", "\n".join(lines) + "\n")
    t = workspace.ingest_corpus(path, name="run", block_chars=1000).to_arrow().sort_by("block")
    blocks = t.column("text").to_pylist()
    assert len(blocks) > 3 and "\n".join(blocks).split("\n") == lines
    assert all(len(b) <= 2000 + 200 for b in blocks)


def test_table_file_keeps_its_rows_as_documents(workspace, tmp_path):
    import pandas as pd

    rng = random.Random(4)
    path = tmp_path / "answers.csv"
    pd.DataFrame({"id": [1, 2, 3], "answer": [document(rng) for _ in range(3)]}).to_csv(path, index=False)
    v = workspace.ingest_corpus(path, name="answers", text="answer")
    assert v.num_rows == 3 and v.roles.get("text") == "answer"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n  \n\t\n\n", "holds no text, only blank lines"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    ],
    ids=["empty", "blank", "binary"],
)
def test_bad_corpus_is_one_sentence_and_writes_nothing(workspace, tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        workspace.ingest_corpus(path, name="bad")
    assert "corpus.txt" in str(err.value) and str(err.value).count(". ") == 0
    assert workspace.datasets() == []


def test_cli_ingest_as_corpus(cli, tmp_path):
    path = write_file(tmp_path, "book.txt", long_text(seed=6, paragraphs=40))
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    code, out, _ = cli("ingest", path, "--as-corpus", "--block-chars", "500", "--json")
    assert code == 0
    import json

    summary = json.loads(out)
    assert summary["rows"] > 5 and summary["source"]["options"]["mode"] == "block"
    (tmp_path / "pic.txt").write_bytes(b"GIF89a\x00\x00\x01")
    code, _, err = cli("ingest", str(tmp_path / "pic.txt"), "--as-corpus")
    assert code != 0 and "binary file" in err and "Traceback" not in err


def test_corpus_texts_join_neighbouring_blocks_and_keep_holes():
    import pyarrow as pa

    from datamoat.data.corpus import corpus_texts

    t = pa.table({"text": ["c", "a", "b", "x", "e"], "source_file": ["f", "f", "f", "g", "f"],
                  "block": [2, 0, 1, 0, 4]})
    assert corpus_texts(t, "text") == ["a\n\nb\n\nc", "e", "x"]  # block 3 is missing: "e" stands alone
    docs = pa.table({"text": ["one", None, "two"]})
    assert corpus_texts(docs, "text") == ["one", "two"]


def test_corpus_texts_of_a_split_give_back_the_text(workspace, tmp_path):
    from datamoat.data.corpus import corpus_texts

    text = long_text(seed=7, paragraphs=30)
    v = workspace.ingest_corpus(write_file(tmp_path, "b.txt", text), name="b", block_chars=300)
    assert corpus_texts(v.to_arrow(), "text") == [text.strip()]

"""The object store on S3 (a real S3-compatible server, moto's, on 127.0.0.1) and on a shared folder:
a second workspace sharing the catalog and the objects URL reads what the first one wrote, with
the same content hash and exclusions; a failed upload registers nothing; credentials stay out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from datamoat.data.object_store import ObjectStore
from datamoat.data.version import Version
from datamoat.data.version_writer import VersionWriter
from datamoat.errors import UnavailableError, WorkspaceError
from datamoat.workspace import Workspace

BUCKET = "datamoat-team"
SECRET = "dm-secret-7f3a91"
"""The secret key the tests use: it must appear in no file, manifest, catalog row or message."""
ROWS = "id,text,label\n1,card declined,card\n2,where is my parcel,delivery\n3,card declined,card\n4,refund please,refund\n"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port for the whole session, with one bucket."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one request line per call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    admin = pafs.S3FileSystem(access_key="admin", secret_key="admin", endpoint_override=endpoint, scheme="http",
                              region="us-east-1", allow_bucket_creation=True)
    admin.create_dir(BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Credentials and endpoint in the environment (only there), and one catalog (a SQLite file,
    then a PostgreSQL database) every workspace of the test shares; returns its URL."""
    for key, value in {"AWS_ACCESS_KEY_ID": "team", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ENDPOINT_URL": s3_endpoint,
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", catalog_url)
    return catalog_url


def workspace_at(path: Path, objects_url: str) -> Workspace:
    """A fresh workspace folder whose datamoat.yaml names ``objects_url``."""
    path.mkdir(parents=True)
    (path / "datamoat.yaml").write_text(f"name: team\nobjects_url: {objects_url}\n", encoding="utf-8")
    return Workspace.init(path)


def local_files(ws: Workspace) -> list[str]:
    """Every file in the workspace's object cache and scratch folder."""
    return sorted(str(p.relative_to(ws.state)) for sub in ("objects", "tmp") for p in (ws.state / sub).rglob("*"))


def rehash(version: Version, scratch: Path) -> str:
    """The content hash of what ``version`` reads back, computed afresh by the version writer."""
    with VersionWriter(ObjectStore(scratch)) as writer:
        for batch in version.batches():
            writer.write(batch)
        for batch in version.excluded().to_batches():
            writer.write_exclusions(batch)
        return writer.finish(roles=version.roles.to_dict()).content_hash


def test_second_workspace_reads_the_same_versions_and_exclusions_from_s3(s3_env: str, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/tests/share"
    (tmp_path / "t.csv").write_text(ROWS, encoding="utf-8")
    with workspace_at(tmp_path / "alice", url) as alice:
        raw = alice.ingest(tmp_path / "t.csv", name="t", id="id", text="text", label="label")
        clean = alice.apply(raw.ref, [{"step": "exact_dedup"}]).version
        assert clean.excluded().num_rows == 1  # the second "card declined"
    with workspace_at(tmp_path / "bob", url) as bob:
        assert local_files(bob) == []  # nothing local yet: everything below comes from S3
        theirs = bob.version("t@latest")
        assert theirs.hash == clean.hash and theirs.ref == clean.ref
        assert theirs.to_pandas().equals(clean.to_pandas())
        assert theirs.excluded().equals(clean.excluded())
        assert rehash(theirs, tmp_path / "check") == clean.hash  # the bytes fetched are the content
        assert sorted(p.name for p in theirs.path.iterdir()) == ["exclusions.parquet", "manifest.json",
                                                                "part-00000.parquet"]
        # bob's output is uploaded before its catalog row: alice (cache cold for it) reads it too
        lower = bob.apply(theirs.ref, [{"step": "lowercase"}], output="t_lower").version
        recorded = json.dumps([v.manifest() for v in (*bob.versions("t"), lower)])
    with Workspace.open(tmp_path / "alice") as alice:
        assert alice.version("t_lower@latest").to_pandas().equals(lower.to_pandas())
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())  # caches, SQLite catalog
    assert SECRET.encode() not in stored and SECRET not in recorded


def test_a_failed_upload_registers_nothing_and_says_why(s3_env: str, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(ROWS, encoding="utf-8")
    with workspace_at(tmp_path / "ws", "s3://no-such-bucket/x") as ws:
        with pytest.raises(UnavailableError) as info:
            ws.ingest(tmp_path / "t.csv", name="t")
        message = str(info.value)
        assert message.count(". ") == 0 and message.endswith("nothing was registered in the catalog.")
        assert "s3://no-such-bucket/x/" in message and "bucket does not exist" in message
        assert SECRET not in message
        assert ws.datasets() == [] and local_files(ws) == []


def test_a_version_without_its_remote_manifest_is_one_sentence(s3_env: str, tmp_path: Path) -> None:
    url = f"s3://{BUCKET}/tests/marker"
    (tmp_path / "t.csv").write_text(ROWS, encoding="utf-8")
    with workspace_at(tmp_path / "a", url) as a:
        v = a.ingest(tmp_path / "t.csv", name="t")
        remote = a.store.remote
        assert remote is not None and remote.has(v.hash)
        remote.fs.delete_file(f"{BUCKET}/tests/marker/{v.hash[:2]}/{v.hash}/manifest.json")  # the commit marker
        assert not remote.has(v.hash)
    with workspace_at(tmp_path / "b", url) as b:
        with pytest.raises(UnavailableError, match="is in the catalog but not in the object store s3://"):
            b.version("t@latest").to_pandas()
        assert local_files(b) == []


def test_a_shared_folder_works_as_objects_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", f"sqlite:///{tmp_path / 'catalog.db'}")
    (tmp_path / "t.csv").write_text(ROWS, encoding="utf-8")
    with workspace_at(tmp_path / "one", "../mounted") as one:
        v = one.ingest(tmp_path / "t.csv", name="t", text="text")
    manifest = json.loads((tmp_path / "mounted" / v.hash[:2] / v.hash / "manifest.json").read_text())
    assert manifest["hash"] == v.hash and manifest["rows"] == 4
    monkeypatch.setenv("DATAMOAT_OBJECTS_URL", str(tmp_path / "mounted"))  # wins over datamoat.yaml's
    with workspace_at(tmp_path / "two", "/nowhere") as two:
        assert two.version("t@1").to_pandas().equals(v.to_pandas())
    assert not Path("/nowhere").exists()


@pytest.mark.parametrize("url", [f"s3://team:{SECRET}@bucket/x", f"s3://bucket/x?secret_key={SECRET}"])
def test_a_url_with_credentials_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(WorkspaceError, match="must not carry a user, password or") as info:
        workspace_at(tmp_path / "ws", url)
    assert SECRET not in str(info.value)

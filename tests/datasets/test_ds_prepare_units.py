"""The pieces of `clipfit data prepare`: verification, resumed HTTP and Drive downloads, safe extraction,
the options, and the published facts of the dataset classes."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest
from _prepare_server import FileServer

import datasets  # noqa: F401  (registers the datasets)
from clipfit.app.prepare import fetch, unpack
from clipfit.app.prepare.dataset import needed_files
from clipfit.app.prepare.run import check_options, parse_names
from clipfit.compat import DATASET_REGISTRY
from clipfit.errors import UserInputError
from clipfit.testing.archives import tar_bytes, zip_bytes
from clipfit.testing.fixtures import FIXTURE_NAMES
from datasets._shared.published_files import PublishedFile

BODY = bytes(range(256)) * 40


@pytest.fixture(scope="module")
def server():
    files = FileServer()
    yield files
    files.close()


@pytest.fixture
def body(server, monkeypatch):
    monkeypatch.setattr(fetch, "BACKOFF_S", 0.0)
    server.files, server.cut, server.requests[:] = {"body.bin": BODY}, {}, []
    return server


def _spec(**facts) -> PublishedFile:
    return PublishedFile("body.bin", url="unused", **facts)


def test_verify_reports_what_was_checked(tmp_path):
    path = tmp_path / "body.bin"
    path.write_bytes(BODY)
    assert fetch.verify(str(path), _spec(), "") == "nothing"
    assert fetch.verify(str(path), _spec(size=len(BODY)), "") == "size"
    sha, md5 = hashlib.sha256(BODY).hexdigest(), hashlib.md5(BODY).hexdigest()
    assert fetch.verify(str(path), _spec(sha256=sha.upper(), md5=md5), "") == "sha256+md5"
    with pytest.raises(fetch.ChecksumMismatch, match=rf"(?s)wrong MD5 checksum.*expected {'0' * 32}\n  found    {md5}"):
        fetch.verify(str(path), _spec(md5="0" * 32), "Do this.")
    with pytest.raises(fetch.ChecksumMismatch, match="has 10,240 bytes, the published file 10,241: .* Do this."):
        fetch.verify(str(path), _spec(size=len(BODY) + 1), "Do this.")


def test_http_download_resumes_a_part_file_and_accepts_a_complete_one(body, tmp_path):
    part = tmp_path / "body.bin.part"
    part.write_bytes(BODY[:1234])
    fetch.http_download(body.template.format(name="body.bin"), str(part), "body.bin", len(BODY))
    assert part.read_bytes() == BODY and body.requests == [("body.bin", "bytes=1234-")]
    # Complete with unknown size: the server answers 416 and the file is left for verification.
    fetch.http_download(body.template.format(name="body.bin"), str(part), "body.bin")
    assert part.read_bytes() == BODY and body.requests[-1] == ("body.bin", f"bytes={len(BODY)}-")


def test_http_download_gives_up_with_a_clear_message(body, tmp_path, monkeypatch):
    with pytest.raises(fetch.FetchFailed, match="missing.bin: .* answered HTTP 404 .*--url-template"):
        fetch.http_download(body.template.format(name="missing.bin"), str(tmp_path / "x.part"), "missing.bin")
    assert body.requests == [("missing.bin", None)]  # not retried
    monkeypatch.setattr(fetch, "RETRIES", 2)
    part = tmp_path / "body.bin.part"

    def cut_every_time(*args):
        have = part.stat().st_size if part.exists() else 0
        body.cut["body.bin"] = have + 100  # each try gets 100 more bytes, then the connection closes
        return real(*args)

    real = fetch._transfer
    monkeypatch.setattr(fetch, "_transfer", cut_every_time)
    expected = (r"failed 3 times \(the connection closed 9,940 bytes before the end\)\. The 300 bytes received are "
                r"kept in .*: run the command again to continue")
    with pytest.raises(fetch.FetchFailed, match=expected):
        fetch.http_download(body.template.format(name="body.bin"), str(part), "body.bin", len(BODY))
    assert part.stat().st_size == 300


def test_obtain_deletes_a_wrong_download_and_keeps_nothing(body, tmp_path):
    sources = fetch.Sources(str(tmp_path / "dl"), url_template=body.template)
    with pytest.raises(fetch.ChecksumMismatch, match="It was deleted: run the command again"):
        fetch.obtain(_spec(sha256="0" * 64), sources)
    assert os.listdir(tmp_path / "dl") == []
    got = fetch.obtain(_spec(sha256=hashlib.sha256(BODY).hexdigest()), sources)
    assert (got.verified, got.downloaded, open(got.path, "rb").read()) == ("sha256", True, BODY)
    body.requests.clear()
    again = fetch.obtain(_spec(sha256=hashlib.sha256(BODY).hexdigest()), sources)  # verified again, not fetched
    assert again.path == got.path and body.requests == []


def test_drive_download_through_gdown(body, tmp_path):
    out = tmp_path / "body.bin.drive"
    fetch.drive_download(body.template.format(name="body.bin"), str(out))
    assert out.read_bytes() == BODY
    with pytest.raises(fetch.FetchFailed, match="Google Drive download of .*missing.bin failed"):
        fetch.drive_download(body.template.format(name="missing.bin"), str(tmp_path / "missing.bin.drive"))


def _evil_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("../outside.txt", b"x"), ("/abs.txt", b"x"), ("ok/file.txt", b"kept")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("ok/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    return buffer.getvalue()


def test_extraction_never_writes_outside_and_skips_links(tmp_path):
    archive = tmp_path / "evil.tar"
    archive.write_bytes(_evil_tar())
    dest = tmp_path / "stage" / "inside"
    assert unpack.extract(str(archive), str(dest), "x") == 4
    assert sorted(os.listdir(dest)) == ["ok"] and os.listdir(dest / "ok") == ["file.txt"]
    assert not (tmp_path / "stage" / "outside.txt").exists()
    zipped = tmp_path / "evil.zip"
    zipped.write_bytes(zip_bytes({"../up.txt": b"x", "a/b.txt": b"y", "empty/": None}))
    assert unpack.extract(str(zipped), str(tmp_path / "z"), "x") == 1
    assert sorted(os.listdir(tmp_path / "z")) == ["a", "empty"]


def test_damaged_archive_is_named(tmp_path):
    archive = tmp_path / "half.tar.gz"
    archive.write_bytes(tar_bytes({"a/b.txt": b"y" * 5000})[:40])
    with pytest.raises(unpack.DamagedArchive, match="half.tar.gz cannot be extracted .*damaged"):
        unpack.extract(str(archive), str(tmp_path / "out"), "x")


def test_parts_are_found_also_inside_one_wrapper_folder(tmp_path):
    (tmp_path / "plain" / "ClassName.txt").parent.mkdir()
    (tmp_path / "plain" / "ClassName.txt").write_text("x")
    (tmp_path / "wrapped" / "Partitions").mkdir(parents=True)
    (tmp_path / "wrapped" / "Partitions" / "ClassName.txt").write_text("x")
    assert unpack.find_part(str(tmp_path / "plain"), "ClassName.txt") == str(tmp_path / "plain" / "ClassName.txt")
    assert unpack.find_part(str(tmp_path / "wrapped"), "ClassName.txt").endswith("Partitions/ClassName.txt")
    assert unpack.find_part(str(tmp_path / "wrapped"), "Training_01.txt") is None


def test_move_into_merges_folders(tmp_path):
    (tmp_path / "src" / "a").mkdir(parents=True)
    (tmp_path / "src" / "a" / "new.jpg").write_text("new")
    (tmp_path / "dst" / "a").mkdir(parents=True)
    (tmp_path / "dst" / "a" / "old.jpg").write_text("old")
    unpack.move_into(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert sorted(os.listdir(tmp_path / "dst" / "a")) == ["new.jpg", "old.jpg"] and not (tmp_path / "src").exists()


def test_options():
    assert parse_names(None) is None and parse_names(["all"]) is None
    assert parse_names(["caltech101,dtd", "OxfordPets"]) == ["caltech101", "dtd", "OxfordPets"]
    with pytest.raises(UserInputError, match="must contain {name}"):
        check_options("/tmp", None, "https://mirror/archive.zip")
    with pytest.raises(UserInputError, match="only {name} and {id}"):
        check_options("/tmp", None, "https://mirror/{file}")
    with pytest.raises(UserInputError, match="--from /nonexistent: no such folder"):
        check_options("/tmp", "/nonexistent", None)


def test_only_files_providing_absent_paths_are_needed(tmp_path):
    cls = DATASET_REGISTRY.get("ImageNet")
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "classnames.txt").write_text("")
    names = [f.name for f in needed_files(cls.published_files, str(tmp_path))]
    assert names == ["ILSVRC2012_img_val.tar", "ILSVRC2012_devkit_t12.tar.gz"]  # val and what sorts it
    (tmp_path / "images" / "val").mkdir()
    assert needed_files(cls.published_files, str(tmp_path)) == []


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_published_facts_are_well_formed(name):
    cls = DATASET_REGISTRY.get(name)
    assert cls.published_files
    for spec in cls.published_files:
        assert spec.url or spec.manual, spec.name
        assert spec.sha256 is None or len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.md5 is None or len(spec.md5) == 32 and int(spec.md5, 16) >= 0
        assert spec.unpack in (None, "none", "imagenet_train", "imagenet_val")
        assert set(spec.needs) <= {f.name for f in cls.published_files}
    provided = {d for f in cls.published_files for d in f.destinations}

    def covered(path: str) -> bool:
        return any(d == path or path.startswith(d + "/") or d.startswith(path + "/") for d in provided)

    # every path the loader needs comes from a published file
    assert [p for p in (*cls.required, *cls.native_files) if not covered(p)] == []


def test_the_prepare_command_modules_import_no_torch():
    """`clipfit data prepare --help` stays quick: its modules import torch only when a dataset is built."""
    import subprocess
    import sys

    modules = ["clipfit.app.commands.data", *(f"clipfit.app.prepare.{m}" for m in
                                              ("run", "dataset", "fetch", "unpack", "imagenet"))]
    code = f"import sys, {', '.join(modules)}; print(sorted(m for m in ('torch', 'datasets') if m in sys.modules))"
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=repo)).stdout
    assert out.strip() == "[]"

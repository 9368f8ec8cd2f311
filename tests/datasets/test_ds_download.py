"""Downloading the official split files, against a loopback HTTP server."""
from __future__ import annotations

import http.server
import json
import os
import threading

import pytest

from clipfit.app.cli import main as clipfit_main
from clipfit.app.data_download import DownloadFailed, download_missing_splits, download_split, split_url
from clipfit.testing.fixtures import fixture_split_json

VALID = json.dumps(fixture_split_json("DescribableTextures")).encode()
ROUTES = {
    "/split_zhou_DescribableTextures.json": (200, VALID, None),
    "/split_zhou_EuroSAT.json": (
        200, b'{"train": [["AnnualCrop/AnnualCrop_1.jpg", 0, "Annual Crop Land"]], "val": [', None
    ),
    "/split_zhou_Food101.json": (200, b"<html>Google Drive - quota exceeded</html>", None),
    "/split_zhou_OxfordPets.json": (200, b'{"train": [], "val": []}', None),
    # announces more bytes than it sends, then closes: an interrupted transfer
    "/split_zhou_Caltech101.json": (200, VALID[:50], len(VALID)),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body, length = ROUTES.get(self.path, (404, b"not found", None))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length or len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if length:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/{{name}}"
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder: str) -> list[str]:
    return sorted(os.listdir(folder))


def test_url_template():
    assert split_url("split_zhou_OxfordPets.json") == "https://drive.google.com/uc?id=1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs"
    assert split_url("split_zhou_OxfordPets.json", "http://m/{name}?{id}") == "http://m/split_zhou_OxfordPets.json?1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs"


def test_valid_download_is_written(server, tmp_path):
    dest = tmp_path / "split_zhou_DescribableTextures.json"
    download_split("split_zhou_DescribableTextures.json", str(dest), server)
    assert dest.read_bytes() == VALID
    assert _leftovers(str(tmp_path)) == ["split_zhou_DescribableTextures.json"]


@pytest.mark.parametrize(
    "split_file,match",
    [
        ("split_zhou_EuroSAT.json", "did not return a JSON file"),
        ("split_zhou_Food101.json", "did not return a JSON file.*quota exceeded"),
        ("split_zhou_OxfordPets.json", "not a split file"),
        ("split_zhou_UCF101.json", "404"),
        ("split_zhou_Caltech101.json", "(?i)error"),
    ],
)
def test_failed_download_leaves_nothing(split_file, match, server, tmp_path):
    dest = tmp_path / split_file
    with pytest.raises(DownloadFailed, match=match):
        download_split(split_file, str(dest), server)
    assert _leftovers(str(tmp_path)) == []


def test_missing_splits_of_present_datasets(server, fresh, tmp_path):
    root = fresh("DescribableTextures")
    fresh("EuroSAT", root=root)
    results = {r.dataset: r for r in download_missing_splits(root, url_template=server)}
    assert results["DescribableTextures"].ok
    assert results["EuroSAT"].ok is False and "failed" in results["EuroSAT"].message
    assert "skipped" in results["Food101"].message and "DATASETS.md#food101" in results["Food101"].message
    assert os.path.isfile(os.path.join(root, "dtd", "split_zhou_DescribableTextures.json"))
    assert "split_zhou_EuroSAT.json" not in os.listdir(os.path.join(root, "eurosat"))
    assert not any(name.startswith(".") for name in os.listdir(os.path.join(root, "eurosat")))


def test_cli_download_splits_with_env_url(server, fresh, monkeypatch, capsys):
    root = fresh("DescribableTextures")
    monkeypatch.setenv("CLIPFIT_SPLITS_URL", server)
    code = clipfit_main(["data", "check", "--root", root, "--datasets", "DescribableTextures", "--download-splits"])
    out = capsys.readouterr().out
    assert code == 0
    assert "DescribableTextures: downloaded" in out
    row = next(line for line in out.splitlines() if line.startswith("DescribableTextures ") and "dtd/" in line)
    assert "ready" in row and "official" in row
    # Present files are never replaced.
    code = clipfit_main(["data", "check", "--root", root, "--datasets", "DescribableTextures", "--download-splits"])
    assert "No split file to download" in capsys.readouterr().out


def test_cli_reports_failed_download(server, fresh, monkeypatch, capsys):
    root = fresh("EuroSAT")
    monkeypatch.setenv("CLIPFIT_SPLITS_URL", server)
    code = clipfit_main(["data", "check", "--root", root, "--datasets", "EuroSAT", "--download-splits"])
    out = capsys.readouterr().out
    assert code == 1 and "EuroSAT: failed" in out
    assert "could not be downloaded (see above)" in out and "--download-splits` fetches them" not in out
    # By config stem, as the scripts name it.
    assert clipfit_main(["data", "check", "--root", root, "--datasets", "eurosat", "--download-splits"]) == 1
    assert "EuroSAT: failed" in capsys.readouterr().out


def test_generated_split_is_not_replaced(server, fresh, build, capsys):
    root = fresh("DescribableTextures")
    build(root, "DescribableTextures")
    path = os.path.join(root, "dtd", "split_zhou_DescribableTextures.json")
    with open(path, "rb") as f:
        before = f.read()
    (result,) = [r for r in download_missing_splits(root, ["DescribableTextures"], url_template=server)]
    assert not result.ok and "random split made here" in result.message
    with open(path, "rb") as f:
        assert f.read() == before

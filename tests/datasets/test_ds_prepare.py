"""`clipfit data prepare` against a loopback server of synthetic published files: each of the 15 datasets
ends up exactly as its loader reads the hand-laid fixture; interruptions, damaged files, a full disk,
second runs and `--from` behave as documented."""
from __future__ import annotations

import errno
import os
import shutil

import pytest
from _prepare_server import FileServer, describe

from clipfit.app.cli import main as clipfit_main
from clipfit.app.prepare import DOWNLOADS_DIR, MARKER_FILE, STAGING_DIR, fetch, unpack
from clipfit.compat import DATASET_REGISTRY
from clipfit.testing.archives import make_published_files, split_file_bytes
from clipfit.testing.fixtures import DATASET_DIRS, FIXTURE_NAMES

SPLIT_DATASETS = [n for n in FIXTURE_NAMES if split_file_bytes(n)]


@pytest.fixture(scope="session")
def published(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    work = tmp_path_factory.mktemp("published")
    return {name: make_published_files(str(work / name), name) for name in FIXTURE_NAMES}


@pytest.fixture(scope="module")
def server():
    files = FileServer()
    yield files
    files.close()


@pytest.fixture
def serve(server, published, monkeypatch):
    """serve(*names) -> the server, holding the published files and split files of `names`, with the
    dataset classes' facts describing these files; retries do not wait."""
    monkeypatch.setattr(fetch, "BACKOFF_S", 0.0)

    def start(*names: str) -> FileServer:
        server.files, server.cut, server.requests[:] = {}, {}, []
        for name in names:
            cls = DATASET_REGISTRY.get(name)
            files = published[name]
            server.files.update(files)
            monkeypatch.setattr(cls, "published_files", tuple(describe(f, files[f.name]) for f in cls.published_files))
            if cls.split_file and split_file_bytes(name):
                server.files[cls.split_file] = split_file_bytes(name)
        return server

    return start


def _prepare(capsys, root, *args) -> tuple[int, str]:
    code = clipfit_main(["data", "prepare", "--root", str(root), *args])
    return code, capsys.readouterr().out


def _row(out: str, name: str) -> list[str]:
    """The final table's row of dataset `name` (the last line that starts with it)."""
    return [line for line in out.splitlines() if line.startswith(name + " ")][-1].split()


def _sorted_triples(dataset, triples) -> dict:
    return {part: sorted(triples(getattr(dataset, part) or [], dataset.dataset_dir))
            for part in ("train_x", "val", "test")}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_prepared_root_reads_like_the_hand_laid_fixture(name, serve, fresh, build, triples, make_cfg, tmp_path,
                                                        capsys):
    server = serve(name)
    root = tmp_path / "prepared"
    code, out = _prepare(capsys, root, "--datasets", name, "--url-template", server.template)
    assert code == 0, out
    assert _row(out, name)[1] == "ready"
    folder = DATASET_DIRS[name]
    assert not os.path.exists(root / folder / STAGING_DIR) and os.path.isfile(root / folder / MARKER_FILE)
    assert not os.path.exists(root / DOWNLOADS_DIR)  # the archives of a ready dataset are removed
    by_hand = fresh(name, with_json=True, root=str(tmp_path / "by_hand"))
    prepared, expected = build(str(root), name), build(by_hand, name)
    capsys.readouterr()
    assert prepared.classnames == expected.classnames
    if name in SPLIT_DATASETS or name == "FGVCAircraft":  # lists in the split file's (or the lists') order
        for part in ("train_x", "val", "test"):
            assert triples(getattr(prepared, part), prepared.dataset_dir) == \
                triples(getattr(expected, part), expected.dataset_dir)
    else:  # folder scans: the order of a listing may differ between two folders
        assert _sorted_triples(prepared, triples) == _sorted_triples(expected, triples)

    from clipfit.engine.data.data_manager import DataManager
    from clipfit.engine.utils.env import set_random_seed

    cfg = make_cfg(str(root), name)
    cfg.DATALOADER.NUM_WORKERS = 0
    set_random_seed(1)
    batch = next(iter(DataManager(cfg).test_loader))
    assert batch["img"].shape[0] == min(len(expected.test), cfg.DATALOADER.TEST.BATCH_SIZE)


def test_data_check_agrees_and_second_run_makes_no_request(serve, tmp_path, capsys):
    server = serve("OxfordPets", "ImageNet")
    root = tmp_path / "data"
    code, out = _prepare(capsys, root, "--datasets", "OxfordPets,imagenet", "--url-template", server.template)
    assert code == 0, out
    assert set(server.requested()) == {
        "images.tar.gz", "annotations.tar.gz", "split_zhou_OxfordPets.json", "ILSVRC2012_img_train.tar",
        "ILSVRC2012_img_val.tar", "ILSVRC2012_devkit_t12.tar.gz", "classnames.txt"}
    assert "ILSVRC2012_img_val.tar: MD5 verified" in out and "images.tar.gz: SHA256 verified" in out
    assert "classnames.txt: not verified: no size or checksum is published for it" in out
    assert clipfit_main(["data", "check", "--root", str(root), "--datasets", "OxfordPets", "ImageNet"]) == 0
    server.requests.clear()
    code, out = _prepare(capsys, root, "--datasets", "OxfordPets", "ImageNet", "--url-template", server.template)
    assert code == 0 and server.requests == []
    assert out.count("already prepared: nothing to do") == 2
    assert _row(out, "OxfordPets")[1:3] == ["ready", "21"] and _row(out, "ImageNet")[1:3] == ["ready", "21"]


def test_connection_cut_mid_file_resumes(serve, tmp_path, capsys):
    server = serve("DescribableTextures")
    size = len(server.files["dtd-r1.0.1.tar.gz"])
    server.cut["dtd-r1.0.1.tar.gz"] = size // 2
    code, out = _prepare(capsys, tmp_path, "--datasets", "dtd", "--url-template", server.template)
    assert code == 0, out
    assert "transfer interrupted" in out and "resuming (1/5)" in out
    ranges = [r for name, r in server.requests if name == "dtd-r1.0.1.tar.gz"]
    assert ranges == [None, f"bytes={size // 2}-"]


def test_interrupted_run_resumes_in_the_next_one(serve, tmp_path, monkeypatch, capsys):
    server = serve("DescribableTextures")
    monkeypatch.setattr(fetch, "RETRIES", 0)
    server.cut["dtd-r1.0.1.tar.gz"] = 1000
    code, out = _prepare(capsys, tmp_path, "--datasets", "dtd", "--url-template", server.template)
    assert code == 1 and "run the command again to continue" in out
    part = tmp_path / DOWNLOADS_DIR / "dtd-r1.0.1.tar.gz.part"
    assert part.stat().st_size == 1000 and not (tmp_path / "dtd" / "images").exists()
    assert _row(out, "DescribableTextures")[1] == "missing"
    code, out = _prepare(capsys, tmp_path, "--datasets", "dtd", "--url-template", server.template)
    assert code == 0, out
    assert server.requests[-2:] == [("dtd-r1.0.1.tar.gz", "bytes=1000-"), ("split_zhou_DescribableTextures.json", None)]


def test_corrupted_file_fails_with_the_checksum_message(serve, tmp_path, capsys):
    server = serve("OxfordPets")
    good = server.files["images.tar.gz"]
    server.files["images.tar.gz"] = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]  # same size
    cls = DATASET_REGISTRY.get("OxfordPets")
    expected = cls.published_files[0].sha256
    code, out = _prepare(capsys, tmp_path, "--datasets", "oxford_pets", "--url-template", server.template)
    assert code == 1
    assert "images.tar.gz: wrong SHA256 checksum" in out and f"expected {expected}" in out and "found    " in out
    assert "run the command again to download it again" in out
    assert not (tmp_path / "oxford_pets" / "images").exists() and not (tmp_path / "oxford_pets" / MARKER_FILE).exists()
    assert not (tmp_path / DOWNLOADS_DIR).exists()  # no half or wrong file kept (it stopped at the first file)
    assert _row(out, "OxfordPets")[1] == "missing"


def test_full_disk_is_refused_before_any_download(serve, tmp_path, monkeypatch, capsys):
    server = serve("Food101")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    code, out = _prepare(capsys, tmp_path, "--datasets", "food101", "--url-template", server.template)
    assert code == 1 and server.requests == []
    assert "not enough disk space for Food101" in out and "1.0 KB free" in out
    assert _row(out, "Food101")[1] == "missing"


def test_disk_filling_up_during_extraction_leaves_no_half_layout(serve, tmp_path, monkeypatch, capsys):
    server = serve("Food101")
    written = []

    def fill_up(source, target):
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", target)
        written.append(target)
        return real_write(source, target)

    real_write = unpack.write_file
    monkeypatch.setattr(unpack, "write_file", fill_up)
    code, out = _prepare(capsys, tmp_path, "--datasets", "food101", "--url-template", server.template)
    assert code == 1 and "filled up" in out and "No space left on device" in out
    assert os.listdir(tmp_path / "food-101") == []  # neither staging nor half the images
    assert os.listdir(tmp_path / DOWNLOADS_DIR) == ["food-101.tar.gz"]  # kept for the next run
    monkeypatch.setattr(unpack, "write_file", real_write)
    server.requests.clear()
    code, out = _prepare(capsys, tmp_path, "--datasets", "food101", "--url-template", server.template)
    assert code == 0 and server.requested() == ["split_zhou_Food101.json"]


def test_from_dir_makes_no_request_and_leaves_the_files(serve, published, tmp_path, capsys):
    server = serve("StanfordCars", "ImageNetA")
    given = tmp_path / "given"
    given.mkdir()
    for name in ("StanfordCars", "ImageNetA"):
        for file, data in published[name].items():
            (given / file).write_bytes(data)
    (given / "split_zhou_StanfordCars.json").write_bytes(split_file_bytes("StanfordCars"))
    before = {p.name: p.read_bytes() for p in given.iterdir()}
    code, out = _prepare(capsys, tmp_path / "data", "--datasets", "StanfordCars", "ImageNetA", "--from", str(given),
                         "--url-template", server.template)
    assert code == 0, out
    assert server.requests == []
    assert {p.name: p.read_bytes() for p in given.iterdir()} == before
    assert "split_zhou_StanfordCars.json: taken from" in out


def test_imagenet_without_its_files_says_which_and_where(tmp_path, capsys):
    given = tmp_path / "given"
    given.mkdir()
    code, out = _prepare(capsys, tmp_path / "data", "--datasets", "imagenet", "--from", str(given))
    assert code == 1
    assert ("ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar, ILSVRC2012_devkit_t12.tar.gz cannot be downloaded "
            f"for you (not found in {given})") in out
    assert "image-net.org" in out and "--from <that folder>" in out
    assert not (tmp_path / "data" / DOWNLOADS_DIR).exists()


def test_missing_native_only_file_and_split_file_are_notes(serve, tmp_path, capsys):
    server = serve("OxfordFlowers")
    del server.files["cat_to_name.json"], server.files["split_zhou_OxfordFlowers.json"]
    code, out = _prepare(capsys, tmp_path, "--datasets", "OxfordFlowers", "--url-template", server.template)
    row = " ".join(_row(out, "OxfordFlowers"))
    assert "cat_to_name.json not fetched (only needed without the split file)" in row
    assert "split_zhou_OxfordFlowers.json not downloaded" in row
    assert code == 1 and _row(out, "OxfordFlowers")[1] == "missing"  # data check: cat_to_name.json is needed now
    server.files["split_zhou_OxfordFlowers.json"] = split_file_bytes("OxfordFlowers")
    server.requests.clear()
    code, out = _prepare(capsys, tmp_path, "--datasets", "OxfordFlowers", "--url-template", server.template)
    assert code == 0 and server.requested() == ["cat_to_name.json", "split_zhou_OxfordFlowers.json"]


def test_interrupted_prepare_is_not_ready_until_run_again(serve, tmp_path, capsys):
    server = serve("EuroSAT")
    assert _prepare(capsys, tmp_path, "--datasets", "eurosat", "--url-template", server.template)[0] == 0
    os.remove(tmp_path / "eurosat" / MARKER_FILE)
    os.makedirs(tmp_path / "eurosat" / STAGING_DIR / "EuroSAT.zip")  # as a killed run leaves it
    assert clipfit_main(["data", "check", "--root", str(tmp_path), "--datasets", "EuroSAT"]) == 1
    assert "interrupted `clipfit data prepare`" in capsys.readouterr().out
    server.requests.clear()
    code, out = _prepare(capsys, tmp_path, "--datasets", "eurosat", "--url-template", server.template)
    assert code == 0 and server.requests == []  # everything was in place: only checked, and the marker written
    assert os.path.isfile(tmp_path / "eurosat" / MARKER_FILE) and not (tmp_path / "eurosat" / STAGING_DIR).exists()


def test_clipfit_trains_on_a_prepared_dataset(serve, tmp_path, capsys):
    """Prepare -> check -> train, end to end once: a tiny CLIPFit base-class run on prepared Caltech101."""
    from clipfit.app.plugins import import_plugins
    from clipfit.compat import build_trainer, set_random_seed
    from clipfit.config import get_cfg

    server = serve("Caltech101")
    assert _prepare(capsys, tmp_path / "data", "--datasets", "caltech101", "--url-template", server.template)[0] == 0
    assert clipfit_main(["data", "check", "--root", str(tmp_path / "data"), "--datasets", "caltech101"]) == 0
    import_plugins()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(repo, "configs/datasets/caltech101.yaml"))
    cfg.merge_from_file(os.path.join(repo, "configs/trainers/CLIPFit/tiny_demo.yaml"))
    cfg.TRAINER.NAME, cfg.DATASET.ROOT, cfg.OUTPUT_DIR, cfg.SEED = "CLIPFit", str(tmp_path / "data"), str(tmp_path), 1
    cfg.merge_from_list(["DATASET.NUM_SHOTS", "2", "DATASET.SUBSAMPLE_CLASSES", "base", "OPTIM.MAX_EPOCH", "1",
                         "OPTIM.WARMUP_EPOCH", "0", "INPUT.SIZE", "(32, 32)", "USE_CUDA", "False"])
    cfg.freeze()
    set_random_seed(cfg.SEED)
    capsys.readouterr()
    trainer = build_trainer(cfg)
    trainer.train()
    out = capsys.readouterr().out
    assert "# classes  2" in out and "# train_x  4" in out and "# test     4" in out  # base: face, leopard
    assert "* accuracy: " in out


def test_damaged_unverifiable_download_is_deleted(serve, tmp_path, capsys):
    server = serve("UCF101")  # its frames have no published size or checksum
    good = server.files["UCF-101-midframes.zip"]
    server.files["UCF-101-midframes.zip"] = good[: len(good) // 2]
    code, out = _prepare(capsys, tmp_path, "--datasets", "ucf101", "--url-template", server.template)
    assert code == 1 and "UCF-101-midframes.zip: not verified: no size or checksum is published for it" in out
    assert "UCF-101-midframes.zip cannot be extracted" in out and "It was deleted: run the command again" in out
    assert "UCF-101-midframes.zip" not in os.listdir(tmp_path / DOWNLOADS_DIR)
    assert not (tmp_path / "ucf101" / "UCF-101-midframes").exists()
    server.files["UCF-101-midframes.zip"] = good
    assert _prepare(capsys, tmp_path, "--datasets", "ucf101", "--url-template", server.template)[0] == 0


def test_a_dataset_without_published_files_is_named(tmp_path, capsys):
    code, out = _prepare(capsys, tmp_path, "--datasets", "DemoShapes")
    assert code == 1 and "DemoShapes lists no published files to prepare it from" in out
    assert _row(out, "DemoShapes")[1] == "missing"


def test_missing_split_file_is_ready_but_said_and_fetched_later(serve, tmp_path, capsys):
    server = serve("DescribableTextures")
    split = server.files.pop("split_zhou_DescribableTextures.json")
    code, out = _prepare(capsys, tmp_path, "--datasets", "dtd", "--url-template", server.template)
    assert code == 1 and _row(out, "DescribableTextures")[1] == "ready"
    assert "The official split file of DescribableTextures could not be downloaded" in out
    server.files["split_zhou_DescribableTextures.json"] = split
    server.requests.clear()
    code, out = _prepare(capsys, tmp_path, "--datasets", "dtd", "--url-template", server.template)
    assert code == 0 and server.requested() == ["split_zhou_DescribableTextures.json"]

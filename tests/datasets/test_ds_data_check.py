"""`clipfit data check`, the DataManager summary on a fixture, and the demo dataset."""
from __future__ import annotations

import os
import random
import shutil

import numpy as np
import pytest
from PIL import Image

from clipfit.app.cli import main as clipfit_main
from clipfit.app.data_check import check_root, format_reports
from clipfit.engine.data.data_manager import DataManager
from clipfit.engine.utils.env import set_random_seed
from clipfit.testing import DEMO_CLASSNAMES, DEMO_DATASET_NAME, make_demo_dataset
from clipfit.testing.fixtures import FIXTURE_NAMES


@pytest.fixture
def full_root(pristine, tmp_path):
    root = str(tmp_path / "data")
    shutil.copytree(pristine[True], root)
    return root


def _run(capsys, *argv) -> tuple[int, str]:
    code = clipfit_main(["data", "check", *argv])
    return code, capsys.readouterr().out


def test_all_ready_on_fixtures(full_root, capsys):
    code, out = _run(capsys, "--root", full_root)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Dataset", "Folder", "Status", "Images", "Split", "file", "What", "to", "do"]
    rows = {line.split()[0]: line.split() for line in lines[2:17]}
    assert sorted(rows) == sorted(FIXTURE_NAMES)
    assert all(row[2] == "ready" for row in rows.values())
    assert rows["OxfordPets"][3:5] == ["21", "official"]
    assert rows["FGVCAircraft"][4:6] == ["official", "lists"]
    assert rows["ImageNetV2"][3:6] == ["6", "test", "only"]
    assert rows["ImageNet"][3] == "21"
    assert "15 of 15 datasets ready" in out


def test_reports_missing_incomplete_broken_and_absent(full_root, capsys):
    shutil.rmtree(os.path.join(full_root, "food-101"))
    shutil.rmtree(os.path.join(full_root, "stanford_cars", "cars_test"))
    os.remove(os.path.join(full_root, "sun397", "SUN397", "b", "bedroom", "sun_c000000000000001.jpg"))
    with open(os.path.join(full_root, "eurosat", "split_zhou_EuroSAT.json"), "w") as f:
        f.write('{"train": [')
    os.remove(os.path.join(full_root, "dtd", "split_zhou_DescribableTextures.json"))
    os.remove(os.path.join(full_root, "ucf101", "split_zhou_UCF101.json"))
    os.remove(os.path.join(full_root, "ucf101", "ucfTrainTestlist", "classInd.txt"))
    code, out = _run(capsys, "--root", full_root)
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines()[2:17]}
    assert "missing" in rows["Food101"] and "food-101/" in rows["Food101"] and "DATASETS.md#food101" in rows["Food101"]
    assert "missing" in rows["StanfordCars"] and "stanford_cars/cars_test" in rows["StanfordCars"]
    assert "incomplete" in rows["SUN397"] and "1 of 21 images" in rows["SUN397"]
    assert "sun_c000000000000001.jpg" in rows["SUN397"]
    assert "broken" in rows["EuroSAT"] and "invalid" in rows["EuroSAT"] and "delete it" in rows["EuroSAT"]
    assert "ready" in rows["DescribableTextures"] and "absent" in rows["DescribableTextures"]
    assert "DATASETS.md#describabletextures" in rows["DescribableTextures"]
    assert "missing" in rows["UCF101"] and "classInd.txt" in rows["UCF101"]
    assert "--download-splits" in out


def test_generated_split_is_reported(fresh, build, capsys):
    root = fresh("OxfordPets")
    build(root, "OxfordPets")
    capsys.readouterr()
    (report,) = check_root(root, ["OxfordPets"])
    assert report.status == "ready" and report.split == "generated"
    assert "generated" in format_reports([report])


def test_absent_datasets_do_not_fail_a_scan(fresh, capsys):
    root = fresh("OxfordPets", with_json=True)
    code, out = _run(capsys, "--root", root)
    assert code == 0  # only the folders that exist must be ready
    assert "1 of 15 datasets ready" in out
    code, out = _run(capsys, "--root", root, "--datasets", "OxfordPets", "Food101")
    assert code == 1  # a dataset asked for by name must be ready
    assert len([line for line in out.splitlines() if line.startswith(("OxfordPets", "Food101"))]) == 2
    # The config stems the scripts and sweeps use name the same datasets.
    assert _run(capsys, "--root", root, "--datasets", "oxford_pets", "food101") == (code, out)


def test_bad_arguments(tmp_path, capsys):
    code = clipfit_main(["data", "check", "--root", str(tmp_path / "nope")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = clipfit_main(["data", "check", "--root", str(tmp_path), "--datasets", "OxfordPet"])
    assert code == 2 and "unknown dataset" in capsys.readouterr().err
    code = clipfit_main(["data", "check", "--root", str(tmp_path), "--datasets", "OxfordPet", "--download-splits"])
    assert code == 2 and "unknown dataset name(s) ['OxfordPet']" in capsys.readouterr().err
    assert clipfit_main(["data"]) == 2


def test_check_decodes_no_image(full_root, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("an image was opened")

    monkeypatch.setattr(Image, "open", refuse)
    code, _ = _run(capsys, "--root", full_root)
    assert code == 0


def test_data_manager_summary_for_pets(fresh, make_cfg, capsys):
    cfg = make_cfg(fresh("OxfordPets", with_json=True), "OxfordPets")  # a copy: the loaders write caches
    cfg.DATALOADER.NUM_WORKERS = 0
    set_random_seed(1)
    dm = DataManager(cfg)
    out = capsys.readouterr().out
    table = "\n".join(
        [
            "---------  ----------",
            "Dataset    OxfordPets",
            "# classes  3",
            "# train_x  12",
            "# val      3",
            "# test     6",
            "---------  ----------",
        ]
    )
    assert table in out
    batch = next(iter(dm.test_loader))
    assert batch["img"].shape[0] == 6 and batch["label"].tolist() == [d.label for d in dm.dataset.test]


def test_demo_dataset_loads_and_is_learnable(tmp_path, build):
    state = random.getstate()
    demo = make_demo_dataset(str(tmp_path), seed=0)
    assert random.getstate() == state
    assert demo.name == DEMO_DATASET_NAME == "DemoShapes"
    assert set(demo.classnames) == set(DEMO_CLASSNAMES) and len(demo.classnames) == 10
    ds = build(demo.root, demo.name, shots=4)
    assert ds.classnames == list(demo.classnames)
    assert (len(ds.train_x), len(ds.val), len(ds.test)) == (40, 20, 40)
    full = build(demo.root, demo.name)
    assert (len(full.train_x), len(full.val), len(full.test)) == demo.split_sizes == (60, 20, 40)

    def features(items):
        # colour histogram: 4 bins per channel, enough to tell the classes apart
        rows = []
        for d in items:
            pixels = np.asarray(Image.open(d.impath).convert("RGB")).reshape(-1, 3) // 64
            rows.append(np.bincount(pixels[:, 0] * 16 + pixels[:, 1] * 4 + pixels[:, 2], minlength=64) / len(pixels))
        return np.stack(rows)

    train, test = features(full.train_x), features(full.test)
    train_y = np.array([d.label for d in full.train_x])
    centroids = np.stack([train[train_y == c].mean(0) for c in range(len(demo.classnames))])
    predicted = np.argmin(((test[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (predicted == np.array([d.label for d in full.test])).mean() >= 0.9


def test_demo_dataset_is_deterministic(tmp_path):
    a = make_demo_dataset(str(tmp_path / "a"), num_classes=3, images_per_class=5, size=32, seed=7)
    b = make_demo_dataset(str(tmp_path / "b"), num_classes=3, images_per_class=5, size=32, seed=7)
    for cls in a.classnames:
        for name in sorted(os.listdir(os.path.join(a.dataset_dir, "images", cls))):
            with open(os.path.join(a.dataset_dir, "images", cls, name), "rb") as fa, open(
                os.path.join(b.dataset_dir, "images", cls, name), "rb"
            ) as fb:
                assert fa.read() == fb.read()
    with pytest.raises(ValueError):
        make_demo_dataset(str(tmp_path / "c"), images_per_class=3)


def test_a_root_with_no_dataset_folder_is_an_error_that_says_what_it_holds(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    code = clipfit_main(["data", "check", "--root", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and "0 of 15 datasets ready" in out
    assert f"error: no dataset folder found under {tmp_path} (it holds data, notes.txt)." in err
    empty = tmp_path / "data"
    assert clipfit_main(["data", "check", "--root", str(empty)]) == 1
    assert f"no dataset folder found under {empty} (it is empty)" in capsys.readouterr().err


def test_the_demo_is_checked_when_named_not_by_default(tmp_path, capsys):
    demo = make_demo_dataset(str(tmp_path), num_classes=3, images_per_class=4, size=16)
    code = clipfit_main(["data", "check", "--root", demo.root])
    out, err = capsys.readouterr()
    assert code == 1 and "DemoShapes" not in out and "0 of 15 datasets ready" in out
    # No benchmark folder at all: the one line says so and points at the dataset that is there.
    assert err.strip() == (
        f"error: no dataset folder found under {demo.root} (it holds demo_shapes). --root takes the folder that "
        f"holds one folder per dataset, e.g. {os.path.join(demo.root, 'dtd', 'images')}; see DATASETS.md. "
        "Note: demo_shapes/ is DemoShapes, checked with --datasets DemoShapes")
    code, out = _run(capsys, "--root", demo.root, "--datasets", "DemoShapes")
    row = next(line for line in out.splitlines() if line.startswith("DemoShapes "))
    assert code == 0 and row.split()[1:5] == ["demo_shapes/", "ready", "12", "official"]


def test_every_error_anchor_is_a_section_of_datasets_md():
    import datasets  # noqa: F401
    from clipfit.compat import DATASET_REGISTRY

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "DATASETS.md"), encoding="utf-8") as f:
        headings = {line[3:].strip().lower() for line in f if line.startswith("## ")}
    for name in (*FIXTURE_NAMES, DEMO_DATASET_NAME):
        assert DATASET_REGISTRY.get(name).anchor() in headings

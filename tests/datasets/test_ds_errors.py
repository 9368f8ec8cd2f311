"""Errors that say which file and what to do; caches that survive moved and read-only data roots."""
from __future__ import annotations

import errno
import os
import pickle
import shutil
import stat

import pytest

import datasets._shared.base as dataset_base
import datasets._shared.listing as listing
import datasets._shared.storage as storage
from datasets._shared.datum_pickle import save_datum_pickle
from datasets._shared.errors import CorruptDatasetFile, DatasetNotFound, MissingImages, StaleCache
from datasets._shared.listing import find_missing, make_datum
from datasets._shared.storage import fallback_dir


def test_missing_dataset_folder_names_path_and_docs(tmp_path, build):
    with pytest.raises(DatasetNotFound) as e:
        build(str(tmp_path), "OxfordPets")
    assert isinstance(e.value, FileNotFoundError)
    assert str(tmp_path / "oxford_pets") in str(e.value)
    assert "DATASETS.md#oxfordpets" in str(e.value)


def test_missing_root_is_said(tmp_path, build):
    with pytest.raises(DatasetNotFound, match="nowhere does not exist"):
        build(str(tmp_path / "nowhere"), "ImageNet")


def test_missing_image_folder(fresh, build):
    root = fresh("DescribableTextures", with_json=True)
    shutil.rmtree(os.path.join(root, "dtd", "images"))
    with pytest.raises(DatasetNotFound) as e:
        build(root, "DescribableTextures")
    assert os.path.join(root, "dtd", "images") in str(e.value)
    assert "DATASETS.md#describabletextures" in str(e.value)


def test_missing_annotation_without_json(fresh, build):
    root = fresh("OxfordPets")
    os.remove(os.path.join(root, "oxford_pets", "annotations", "test.txt"))
    with pytest.raises(DatasetNotFound) as e:
        build(root, "OxfordPets")
    msg = str(e.value)
    assert os.path.join(root, "oxford_pets", "annotations", "test.txt") in msg
    assert "split_zhou_OxfordPets.json" in msg and "DATASETS.md#oxfordpets" in msg
    assert not os.path.exists(os.path.join(root, "oxford_pets", "split_zhou_OxfordPets.json"))


def test_missing_file_read_late_is_wrapped(fresh, build):
    root = fresh("ImageNetV2")
    os.rmdir(os.path.join(root, "imagenetv2", "imagenetv2-matched-frequency-format-val", "999"))
    with pytest.raises(DatasetNotFound, match="999.*DATASETS.md#imagenetv2"):
        build(root, "ImageNetV2")


@pytest.mark.parametrize(
    "content,match",
    [
        (b'{"train": [["a.jpg", 0, "x"]], "val": [', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'[["a.jpg", 0, "x"]]', "not a split file"),
        (b'{"train": [], "val": [], "tests": []}', "not a split file"),
        (b'{"train": [["a.jpg", "zero", "x"]], "val": [], "test": []}', "not an integer"),
        (b'{"train": [["a.jpg", 0]], "val": [], "test": []}', "not \\[path, label, classname\\]"),
    ],
)
def test_corrupt_or_foreign_split_json_names_the_file(content, match, fresh, build):
    root = fresh("OxfordPets", with_json=True)
    path = os.path.join(root, "oxford_pets", "split_zhou_OxfordPets.json")
    with open(path, "wb") as f:
        f.write(content)
    with pytest.raises(CorruptDatasetFile, match=match) as e:
        build(root, "OxfordPets")
    assert path in str(e.value) and "Delete it" in str(e.value)


def test_images_missing_from_split_are_counted_and_named(fresh, build):
    root = fresh("Food101", with_json=True)
    images = os.path.join(root, "food-101", "images")
    gone = [os.path.join(images, "apple_pie", f"10000{i}.jpg") for i in (1, 2)]
    for path in gone:
        os.remove(path)
    with pytest.raises(MissingImages) as e:
        build(root, "Food101")
    msg = str(e.value)
    assert "2 of the 18 images listed in" in msg and "split_zhou_Food101.json" in msg
    assert all(path in msg for path in gone)
    assert "DATASETS.md#food101" in msg


def test_many_missing_images_are_cut_short(fresh, build):
    root = fresh("SUN397", with_json=True)
    shutil.rmtree(os.path.join(root, "sun397", "SUN397", "a"))
    with pytest.raises(MissingImages, match=r"14 of the 21 images(.|\n)*and 9 more"):
        build(root, "SUN397")


def test_images_missing_from_annotations(fresh, build):
    root = fresh("OxfordPets")
    os.remove(os.path.join(root, "oxford_pets", "images", "Abyssinian_6.jpg"))
    with pytest.raises(MissingImages, match="1 of the 21 images.*annotations"):
        build(root, "OxfordPets")


@pytest.mark.parametrize(
    "payload,match",
    [
        (b"not a pickle at all", "not a readable cache"),
        (pickle.dumps({"train": []}), "expected keys"),
        (pickle.dumps({"train": [1], "val": []}), "not a list of Datum"),
        (pickle.dumps([1, 2, 3]), "expected keys"),
        (pickle.dumps({"train": os.getcwd}), "references posix.getcwd"),
    ],
)
def test_corrupt_or_foreign_fewshot_pickle_names_the_file(payload, match, fresh, build):
    root = fresh("OxfordPets", with_json=True)
    pkl = os.path.join(root, "oxford_pets", "split_fewshot", "shot_2-seed_1.pkl")
    os.makedirs(os.path.dirname(pkl))
    with open(pkl, "wb") as f:
        f.write(payload)
    with pytest.raises(CorruptDatasetFile, match=match) as e:
        build(root, "OxfordPets", shots=2)
    assert pkl in str(e.value) and "Delete it" in str(e.value)


def test_corrupt_preprocessed_pickle(fresh, build):
    root = fresh("ImageNet")
    with open(os.path.join(root, "imagenet", "preprocessed.pkl"), "wb") as f:
        f.write(b"\x80\x05truncated")
    with pytest.raises(CorruptDatasetFile, match="preprocessed.pkl.*rebuilt"):
        build(root, "ImageNet")


def test_imagenet_val_not_sorted_into_folders(fresh, build):
    root = fresh("ImageNet")
    val = os.path.join(root, "imagenet", "images", "val")
    shutil.rmtree(os.path.join(val, "n01440764"))
    with pytest.raises(CorruptDatasetFile, match="one folder per wnid"):
        build(root, "ImageNet")


def test_classnames_without_folder_line(fresh, build):
    root = fresh("ImageNetSketch")
    with open(os.path.join(root, "imagenet-sketch", "classnames.txt"), "w") as f:
        f.write("n01440764 tench\n")
    with pytest.raises(CorruptDatasetFile, match="n01443537.*classnames.txt"):
        build(root, "ImageNetSketch")


# --- moved data roots ----------------------------------------------------------------------------


def _move_dataset(root: str, folder: str, new_root: str) -> None:
    os.makedirs(new_root)
    shutil.move(os.path.join(root, folder), os.path.join(new_root, folder))


def test_moved_root_is_remapped_in_memory(fresh, build, tmp_path, capsys):
    root = fresh("OxfordPets", with_json=True)
    first = build(root, "OxfordPets", shots=2)
    new_root = str(tmp_path / "moved")
    _move_dataset(root, "oxford_pets", new_root)
    pkl = os.path.join(new_root, "oxford_pets", "split_fewshot", "shot_2-seed_1.pkl")
    with open(pkl, "rb") as f:
        before = f.read()
    capsys.readouterr()
    second = build(new_root, "OxfordPets", shots=2)
    out = capsys.readouterr().out
    assert "re-pointed in memory" in out and pkl in out
    expected = [os.path.relpath(d.impath, root) for d in first.train_x]
    assert [os.path.relpath(d.impath, new_root) for d in second.train_x] == expected
    assert all(os.path.isfile(d.impath) for d in second.train_x + second.val)
    with open(pkl, "rb") as f:
        assert f.read() == before  # the Dassl-compatible file is left as it was
    assert "WARNING" not in out


def test_moved_root_with_missing_images_is_stale(fresh, build, tmp_path):
    root = fresh("OxfordPets", with_json=True)
    first = build(root, "OxfordPets", shots=2)
    new_root = str(tmp_path / "moved")
    _move_dataset(root, "oxford_pets", new_root)
    os.remove(os.path.join(new_root, "oxford_pets", "images", os.path.basename(first.train_x[0].impath)))
    with pytest.raises((StaleCache, MissingImages)) as e:
        build(new_root, "OxfordPets", shots=2)
    assert os.path.basename(first.train_x[0].impath) in str(e.value)


def test_cache_from_unknown_root_is_stale(fresh, build):
    root = fresh("OxfordPets", with_json=True)
    d = os.path.join(root, "oxford_pets")
    items = [make_datum(f"/elsewhere/xyz/images/Abyssinian_{i}.jpg", 0, "abyssinian") for i in (1, 2)]
    pkl = os.path.join(d, "split_fewshot", "shot_2-seed_1.pkl")
    save_datum_pickle({"train": items, "val": items[:1]}, pkl)
    with pytest.raises(StaleCache) as e:
        build(root, "OxfordPets", shots=2)
    msg = str(e.value)
    assert pkl in msg and "Delete" in msg and "/elsewhere/xyz/images/Abyssinian_1.jpg" in msg


def test_cached_images_missing_under_same_root(fresh, build):
    root = fresh("OxfordPets", with_json=True)
    images = os.path.join(root, "oxford_pets", "images")
    items = [make_datum(os.path.join(images, name), 0, "abyssinian") for name in ("Abyssinian_1.jpg", "gone.jpg")]
    pkl = os.path.join(root, "oxford_pets", "split_fewshot", "shot_2-seed_1.pkl")
    save_datum_pickle({"train": items, "val": items[:1]}, pkl)
    with pytest.raises(MissingImages, match="1 of the 3 images listed in .*shot_2-seed_1.pkl(.|\n)*gone.jpg"):
        build(root, "OxfordPets", shots=2)


def test_imagenet_preprocessed_survives_moved_root(fresh, build, tmp_path, capsys):
    root = fresh("ImageNet")
    first = build(root, "ImageNet")
    new_root = str(tmp_path / "moved")
    _move_dataset(root, "imagenet", new_root)
    second = build(new_root, "ImageNet")
    assert "re-pointed in memory" in capsys.readouterr().out
    assert all(d.impath.startswith(new_root) for d in second.train_x + second.test)
    assert len(second.train_x) == len(first.train_x)


def test_cache_from_another_split_is_warned(fresh, build, capsys):
    root = fresh("OxfordPets", with_json=True)
    build(root, "OxfordPets", shots=1)
    # Replace the split: what the cache picked from train is now in val.
    import json

    path = os.path.join(root, "oxford_pets", "split_zhou_OxfordPets.json")
    with open(path) as f:
        data = json.load(f)
    data["train"], data["val"] = data["val"], data["train"]
    with open(path, "w") as f:
        json.dump(data, f)
    capsys.readouterr()
    build(root, "OxfordPets", shots=1)
    assert "WARNING" in capsys.readouterr().out


# --- read-only dataset folders ---------------------------------------------------------------------


def test_read_only_folder_writes_to_cache_and_reads_back(fresh, build, monkeypatch, private_cache, capsys):
    root = fresh("OxfordPets")
    dataset_dir = os.path.join(root, "oxford_pets")
    monkeypatch.setattr(storage, "is_writable", lambda folder: False)
    first = build(root, "OxfordPets", shots=2)
    out = capsys.readouterr().out
    fallback = fallback_dir(dataset_dir)
    assert fallback.startswith(str(private_cache))
    assert "read-only" in out and os.path.join(fallback, "split_zhou_OxfordPets.json") in out
    assert f"Saving preprocessed few-shot data to {os.path.join(fallback, 'split_fewshot', 'shot_2-seed_1.pkl')}" in out
    assert sorted(os.listdir(dataset_dir)) == ["annotations", "images"]  # nothing written there
    second = build(root, "OxfordPets", shots=2)
    out = capsys.readouterr().out
    assert f"Reading split from {os.path.join(fallback, 'split_zhou_OxfordPets.json')}" in out
    assert "Loading preprocessed few-shot data from " + os.path.join(fallback, "split_fewshot") in out
    assert "RANDOM split made by this project" in out  # a split found in the cache folder is never official
    assert [d.impath for d in second.train_x] == [d.impath for d in first.train_x]


def test_permission_error_on_write_falls_back(fresh, build, monkeypatch, capsys):
    root = fresh("OxfordPets", with_json=True)
    dataset_dir = os.path.join(root, "oxford_pets")
    real_save = dataset_base.save_datum_pickle

    def save(obj, path):
        if path.startswith(dataset_dir):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        real_save(obj, path)

    monkeypatch.setattr(dataset_base, "save_datum_pickle", save)
    build(root, "OxfordPets", shots=1)
    out = capsys.readouterr().out
    assert "cannot write there (Permission denied)" in out
    assert os.path.isfile(os.path.join(fallback_dir(dataset_dir), "split_fewshot", "shot_1-seed_1.pkl"))


def test_read_only_imagenet_preprocessed(fresh, build, monkeypatch, capsys):
    root = fresh("ImageNet")
    monkeypatch.setattr(storage, "is_writable", lambda folder: False)
    build(root, "ImageNet")
    assert "preprocessed.pkl" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(root, "imagenet", "preprocessed.pkl"))
    assert os.path.isfile(os.path.join(fallback_dir(os.path.join(root, "imagenet")), "preprocessed.pkl"))


def test_chmod_read_only_folder_still_runs(fresh, build):
    root = fresh("DescribableTextures", with_json=True)
    dataset_dir = os.path.join(root, "dtd")
    os.chmod(dataset_dir, stat.S_IRUSR | stat.S_IXUSR)
    try:
        ds = build(root, "DescribableTextures", shots=1)
    finally:
        os.chmod(dataset_dir, stat.S_IRWXU)
    assert len(ds.train_x) == 3
    locations = [
        os.path.join(d, "split_fewshot", "shot_1-seed_1.pkl") for d in (dataset_dir, fallback_dir(dataset_dir))
    ]
    assert any(os.path.isfile(p) for p in locations)  # as root the folder stays writable


def test_other_os_errors_are_not_hidden(fresh, build, monkeypatch):
    root = fresh("OxfordPets", with_json=True)

    def save(obj, path):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(dataset_base, "save_datum_pickle", save)
    with pytest.raises(OSError, match="No space"):
        build(root, "OxfordPets", shots=1)


# --- the notice about random splits -------------------------------------------------------------


def test_missing_official_split_notice_repeats_for_generated_file(fresh, build, capsys):
    root = fresh("EuroSAT")
    build(root, "EuroSAT")
    out = capsys.readouterr().out
    assert "split_zhou_EuroSAT.json is not in" in out and "NOT comparable" in out and "DATASETS.md#eurosat" in out
    build(root, "EuroSAT")
    out = capsys.readouterr().out
    assert "RANDOM split made by this project" in out
    # Replacing it by another file (the official one) silences the notice.
    path = os.path.join(root, "eurosat", "split_zhou_EuroSAT.json")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("    ", "  "))
    build(root, "EuroSAT")
    assert "NOT comparable" not in capsys.readouterr().out


def test_too_few_images_for_a_split(fresh, build):
    root = fresh("Food101")
    folder = os.path.join(root, "food-101", "images", "baklava")
    for name in sorted(os.listdir(folder))[:3]:
        os.remove(os.path.join(folder, name))
    with pytest.raises(CorruptDatasetFile, match="'baklava' has 3 images"):
        build(root, "Food101")


# --- bulk existence checks --------------------------------------------------------------------------


def test_find_missing_lists_big_folders_instead_of_stat(tmp_path, monkeypatch):
    folder = tmp_path / "cls"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i}.jpg").write_bytes(b"x")
    (folder / "sub.jpg").mkdir()  # a folder is not an image file
    paths = [str(folder / f"{i}.jpg") for i in range(42)] + [str(folder / "sub.jpg")]
    calls = []
    real = os.path.isfile
    monkeypatch.setattr(listing.os.path, "isfile", lambda p: calls.append(p) or real(p))
    missing = find_missing(paths)
    assert missing == [str(folder / "40.jpg"), str(folder / "41.jpg"), str(folder / "sub.jpg")]
    assert calls == []
    small = find_missing([str(folder / "1.jpg"), str(tmp_path / "nope" / "x.jpg")])
    assert small == [str(tmp_path / "nope" / "x.jpg")]


def test_imagenet_listing_stats_no_file(fresh, build, monkeypatch):
    root = fresh("ImageNet")
    calls = []
    for name in ("stat", "lstat"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda p, *a, _real=real, **k: calls.append(p) or _real(p, *a, **k))
    ds = build(root, "ImageNet")
    assert len(ds.train_x) == 15
    image_stats = [p for p in calls if str(p).lower().endswith(".jpeg")]
    assert image_stats == []

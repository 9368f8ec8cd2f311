"""Issue 26, the data side: what users feed the loaders (caches, split files, class tables, images, folders, data
roots). Each case runs the real command in-process on the demo data with the tiny backbone and asserts the exit
code, the words of the message and that nothing wrong was written or recorded (no accuracy line, no cache made
from the bad lists); a few are units where the command adds nothing.
"""
from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

from clipfit.app.commands import train as train_command
from clipfit.errors import USER_ERROR_EXIT, UserInputError
from clipfit.testing.demo import make_demo_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASET_CFG = os.path.join(REPO, "configs", "datasets", "demo_shapes.yaml")
CONFIGS = {"CLIPFit": os.path.join(REPO, "configs", "trainers", "CLIPFit", "tiny_demo.yaml"),
           "CoOp": os.path.join(REPO, "configs", "trainers", "CoOp", "tiny_demo.yaml")}
FAST = ["DATALOADER.NUM_WORKERS", "0", "DATASET.NUM_SHOTS", "2", "OPTIM.MAX_EPOCH", "1", "OPTIM.WARMUP_EPOCH", "0",
        "USE_CUDA", "False"]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(str(root), num_classes=4, images_per_class=6, size=32)
    return root


@pytest.fixture
def root(demo_data, tmp_path, monkeypatch):
    """A private copy of the demo data (caches are written beside it), and a private user cache."""
    monkeypatch.delenv("CLIPFIT_DEBUG", raising=False)
    monkeypatch.setenv("CLIPFIT_CACHE", str(tmp_path / "user-cache"))
    shutil.copytree(demo_data, tmp_path / "data")
    return tmp_path / "data"


def dataset_dir(root):
    return root / "demo_shapes"


def split_path(root):
    return dataset_dir(root) / "split_DemoShapes.json"


def edit_split(root, change):
    split = json.loads(split_path(root).read_text())
    change(split)
    split_path(root).write_text(json.dumps(split))


def image(root, part="train", index=0):
    split = json.loads(split_path(root).read_text())
    return dataset_dir(root) / "images" / split[part][index][0]


def train(capsys, root, out, *opts, flags=(), trainer="CLIPFit"):
    """train.py in-process: (exit code, stdout, stderr)."""
    argv = ["--root", str(root), "--seed", "1", "--trainer", trainer, "--dataset-config-file", DATASET_CFG,
            "--config-file", CONFIGS.get(trainer, CONFIGS["CoOp"]), "--output-dir", str(out), *flags, *FAST, *opts]
    stdout = sys.stdout
    try:
        code = train_command.run(train_command.build_parser().parse_args(argv))
    finally:
        sys.stdout = stdout  # the run's log tee
    out_text, err_text = capsys.readouterr()
    return code, out_text, err_text


def assert_refused(code, out, err, run_dir, *words):
    """A user error: exit 2, the words, no traceback, and no result printed or logged."""
    assert code == USER_ERROR_EXIT, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    assert "* accuracy" not in out
    log = run_dir / "log.txt"
    assert not log.exists() or "* accuracy" not in log.read_text()


def data_check(capsys, root, *flags):
    from clipfit.app.cli import main

    code = main(["data", "check", "--root", str(root), "--datasets", "DemoShapes", *flags])
    return code, capsys.readouterr()


# --- caches --------------------------------------------------------------------------------------------------------

def test_an_eval_cache_corrupt_in_its_pixels_is_rebuilt_with_one_line(root, tmp_path, capsys):
    code, out, err = train(capsys, root, tmp_path / "clean", flags=("--eval-only",))
    assert code == 0, err
    (cache,) = (dataset_dir(root) / "split_fewshot").glob("eval-test-*.u8")
    good = cache.read_bytes()
    accuracy = [line for line in out.splitlines() if line.startswith("* accuracy")]
    bad = bytearray(good)
    middle = 4096 + (len(good) - 4096) // 2  # in the pixels: the header block is 4 KiB here
    bad[middle:middle + 500] = bytes(255 - b for b in bad[middle:middle + 500])
    cache.write_bytes(bytes(bad))
    code, out, err = train(capsys, root, tmp_path / "again", flags=("--eval-only",))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("eval cache:")]
    assert len(lines) == 1 and lines[0].startswith("eval cache: wrote 8 test images")
    assert lines[0].endswith("(rebuilt: the old file was corrupt: its pixels do not match their checksum)")
    assert cache.read_bytes() == good  # rebuilt to the very bytes (and the same accuracy) of the clean run
    assert [line for line in out.splitlines() if line.startswith("* accuracy")] == accuracy


def _fewshot_cache(root, tmp_path, capsys):
    code, _, err = train(capsys, root, tmp_path / "first", flags=("--no-train",))  # builds the data, writes the cache
    assert code == 0, err
    return dataset_dir(root) / "split_fewshot" / "shot_2-seed_1.pkl"


@pytest.mark.parametrize("kind", ["a test image", "another label"])
def test_a_fewshot_cache_that_disagrees_with_the_split_is_refused(root, tmp_path, capsys, kind):
    from datasets._shared.datum_pickle import save_datum_pickle
    from datasets._shared.listing import make_datum
    from datasets._shared.readers import load_datum_cache

    path = _fewshot_cache(root, tmp_path, capsys)
    data = load_datum_cache(str(path), ("train", "val"), "")
    first = data["train"][0]
    if kind == "a test image":
        data["train"][0] = make_datum(str(image(root, "test")), first.label, first.classname)
        words = ["holds 1 image(s) of the current TEST split", "tested on them"]
    else:
        data["train"][0] = make_datum(first.impath, (first.label + 1) % 4, first.classname)
        words = ["another label or class name than in the current split", first.impath]
    save_datum_pickle(data, str(path))
    code, out, err = train(capsys, root, tmp_path / "run")
    assert_refused(code, out, err, tmp_path / "run", str(path), *words, f"Delete {path}")


# --- split files and class tables ----------------------------------------------------------------------------------

def _overlap(split):
    split["test"].append(split["train"][0])


def _shared_label(split):  # green_square (label 1) takes blue_triangle's label
    for items in split.values():
        for item in items:
            item[1] = 0 if item[1] == 1 else item[1]


def _no_training_image(split):
    split["train"] = [item for item in split["train"] if item[1] != 1]


@pytest.mark.parametrize("change,words", [
    (_overlap, ["1 in both train and test", "blue_triangle/blue_triangle_0001.jpg", "trained on"]),
    (_shared_label, ["label 0 is given to 'blue_triangle' (6 items), 'green_square' (6 items)", "a label of its own"]),
    (_no_training_image, ["1 class(es) have no training image: class 1 'green_square' (1 val, 2 test)"]),
], ids=["train-test overlap", "two classes on one label", "a class without training images"])
def test_a_split_file_with_wrong_lists_is_refused_and_data_check_says_broken(root, tmp_path, capsys, change, words):
    edit_split(root, change)
    code, out, err = train(capsys, root, tmp_path / "run")
    assert_refused(code, out, err, tmp_path / "run", str(split_path(root)), *words, "--download-splits")
    assert not (dataset_dir(root) / "split_fewshot").exists()  # nothing made from the wrong lists
    code, (out, _) = data_check(capsys, root)
    assert code == 1
    assert "broken" in out and words[0] in out and "0 of 1 datasets ready" in out


def test_one_class_has_no_new_classes(root, tmp_path, capsys):
    edit_split(root, lambda split: split.update({k: [i for i in v if i[1] == 0] for k, v in split.items()}))
    code, out, err = train(capsys, root, tmp_path / "run", "DATASET.SUBSAMPLE_CLASSES", "new")
    assert_refused(code, out, err, tmp_path / "run", "DATASET.SUBSAMPLE_CLASSES new selects no class: the dataset "
                   "has 1 class(es)", "at least 2 classes")


def test_new_classes_without_test_images_say_so():
    from datasets._shared.listing import make_datum
    from datasets._shared.subsample import subsample_classes

    train = [make_datum("a.jpg", 0, "cat"), make_datum("b.jpg", 1, "dog")]
    with pytest.raises(UserInputError, match=r"the new classes \(labels 1..1\) have no test image"):
        subsample_classes(train, train[:1], subsample="new")


def test_the_engine_checks_the_class_table_of_any_dataset(root, monkeypatch):
    """A third-party dataset class (no split file of ours): its lists are checked where the loaders are built."""
    from clipfit.config import get_cfg
    from clipfit.engine.data import data_manager
    from datasets._shared.listing import make_datum

    train_x = [make_datum("a.jpg", 0, "cat"), make_datum("b.jpg", 1, "dog")]
    test = [*train_x, make_datum("c.jpg", 2, "owl")]
    fake = type("ThirdParty", (), {"train_x": train_x, "val": None, "test": test, "train_u": None})()
    monkeypatch.setattr(data_manager, "build_dataset", lambda cfg: fake)
    cfg = get_cfg()
    cfg.DATASET.NAME = "ThirdParty"
    with pytest.raises(UserInputError, match=r"dataset ThirdParty: 1 class\(es\) have no training image: class 2 "
                                             r"'owl' \(1 test\)"):
        data_manager.DataManager(cfg)


@pytest.mark.parametrize("trainer", ["CLIPFit", "CoOp", "ZeroshotCLIP"])  # CoCoOp builds CoOp's prompts
def test_class_names_longer_than_the_text_context_are_refused(root, tmp_path, capsys, trainer):
    def lengthen(split):
        for items in split.values():
            for item in items:
                item[2] = "very " * 80 + item[2]  # cut at 77 tokens, all four prompts would be the same

    edit_split(root, lengthen)
    code, out, err = train(capsys, root, tmp_path / "run", flags=("--no-train",), trainer=trainer)
    assert_refused(code, out, err, tmp_path / "run", "4 prompt(s) are longer than the text encoder's context of 77 "
                   "tokens", "blue_triangle'", "Shorten the class name(s)")
    assert " tokens; class '" in err


def test_tokenize_gives_open_clips_ids_and_refuses_what_it_would_cut():
    import open_clip

    from clipfit.clip.text import PromptTooLong, tokenize

    texts = ["a photo of a cat.", "X X X X a type of pet, a very long name indeed."]
    assert tokenize(texts).equal(open_clip.tokenizer.SimpleTokenizer()(texts))
    assert int(tokenize(["word " * 75]).count_nonzero()) == 77  # 75 + start and end: exactly the context fits
    with pytest.raises(PromptTooLong, match=r"the prompt 'word word .*': 78 tokens"):
        tokenize(["word " * 76])


# --- images --------------------------------------------------------------------------------------------------------

def _sixteen_bit_png(path) -> bytes:
    gray = np.asarray(Image.open(path).convert("L"), dtype=np.uint16) * 257
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, format="PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == "I;16"
    return buffer.getvalue()


@pytest.mark.parametrize("kind,words", [
    ("header cut", ["OSError"]),
    ("empty", ["the file is empty"]),
    ("16-bit", ["a 16-bit grayscale image (mode I;16)", "clip every value above 255", "8 bits per channel"]),
])
def test_a_bad_training_image_is_named(root, tmp_path, capsys, kind, words):
    path = image(root, "train")
    content = path.read_bytes()
    path.write_bytes({"header cut": content[:len(content) // 3], "empty": b"",
                      "16-bit": _sixteen_bit_png(path)}[kind])
    code, out, err = train(capsys, root, tmp_path / "run", "DATASET.NUM_SHOTS", "16")
    assert_refused(code, out, err, tmp_path / "run", f"cannot read the image {path} of dataset DemoShapes", *words)


@pytest.mark.parametrize("mode", ["L", "P", "LA", "RGBA", "CMYK", "1"])
def test_eight_bit_modes_are_converted_as_dassl_converts_them(tmp_path, mode):
    from clipfit.engine.utils.images import read_image

    rng = np.random.default_rng(0)
    path = tmp_path / f"image.{'jpg' if mode in ('L', 'CMYK') else 'png'}"
    Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).convert(mode).save(path)
    expected = np.asarray(Image.open(path).convert("RGB"))  # Dassl's read_image
    got = read_image(str(path))
    assert got.mode == "RGB" and np.array_equal(np.asarray(got), expected)


def deny(monkeypatch, path, folder: bool = False):
    """What a user without read permission on `path` meets (a folder: mode 000, so nothing below it can be listed,
    stat'ed or opened). The tests run as root here, which permissions do not stop, so the kernel's answer is
    given at the calls that would get it: open, os.stat and os.scandir."""
    path = str(path)

    def denied(target, itself: bool) -> bool:
        if isinstance(target, int):
            return False
        target = os.fsdecode(os.fspath(target))
        return (itself and target == path) or target.startswith(path + os.sep)

    def refuse(target):
        raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(os.fspath(target)))

    real_open, real_stat, real_scandir = builtins.open, os.stat, os.scandir

    def fake_open(file, *args, **kwargs):
        return refuse(file) if denied(file, itself=True) else real_open(file, *args, **kwargs)

    def fake_stat(target, *args, **kwargs):
        return refuse(target) if denied(target, itself=False) else real_stat(target, *args, **kwargs)

    def fake_scandir(target="."):
        return refuse(target) if denied(target, itself=True) else real_scandir(target)

    monkeypatch.setattr(builtins, "open", fake_open)
    if folder:
        monkeypatch.setattr(os, "stat", fake_stat)
        monkeypatch.setattr(os, "scandir", fake_scandir)


def test_an_unreadable_training_image_is_named(root, tmp_path, capsys, monkeypatch):
    path = image(root, "train")
    deny(monkeypatch, path)
    code, out, err = train(capsys, root, tmp_path / "run", "DATASET.NUM_SHOTS", "16")
    assert_refused(code, out, err, tmp_path / "run", f"cannot read the image {path} of dataset DemoShapes",
                   "permission denied", "chmod a+r")


def test_an_unreadable_class_folder_is_named_not_its_images_called_missing(root, tmp_path, capsys, monkeypatch):
    folder = dataset_dir(root) / "images" / "green_square"
    deny(monkeypatch, folder, folder=True)
    code, out, err = train(capsys, root, tmp_path / "run")
    assert_refused(code, out, err, tmp_path / "run", f"cannot list the folder {folder}: permission denied",
                   "chmod -R a+rX")
    assert "missing" not in err
    code, (out, _) = data_check(capsys, root)
    assert code == 1 and "broken" in out and "cannot list the folder" in out


# --- data roots ----------------------------------------------------------------------------------------------------

def test_a_data_root_that_is_a_file_is_said_to_be_a_file(tmp_path, capsys):
    from clipfit.app.jobs import Job
    from clipfit.app.runner import check_inputs

    file = tmp_path / "datasets.tar"
    file.write_bytes(b"")
    code, out, err = train(capsys, file, tmp_path / "run")
    assert_refused(code, out, err, tmp_path / "run", f"DATASET.ROOT {file} is a file, not a folder")
    code, (_, err) = data_check(capsys, file)
    assert code == 2 and f"--root {file} is a file, not a folder" in err
    with pytest.raises(UserInputError, match=f"data root {file} is a file, not a folder; set DATA="):
        check_inputs(Job("CLIPFit", "base2new_train", "demo_shapes", 1, data_root=str(file)))


def test_a_relative_data_root_says_what_it_is_relative_to(root, tmp_path, capsys, monkeypatch):
    from clipfit.app.jobs import PROJECT_ROOT, Job
    from clipfit.app.runner import check_inputs

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = train(capsys, "data", tmp_path / "run")
    assert_refused(code, out, err, tmp_path / "run", "DATASET.ROOT data does not exist: a relative path is resolved "
                   f"against the current directory ({elsewhere}), giving {elsewhere / 'data'}")
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path)  # where "here" is: the scripts still read it from the repository root
    with pytest.raises(UserInputError, match="data root here/ does not exist: a relative path is resolved against "
                                             f"the repository root, where the scripts run \\({PROJECT_ROOT}\\)"):
        check_inputs(Job("CLIPFit", "base2new_train", "demo_shapes", 1, data_root="here/"))

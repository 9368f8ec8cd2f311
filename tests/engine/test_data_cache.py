"""The evaluation cache and the decoded training set give exactly what the PIL loaders give."""
from __future__ import annotations

import copy
import os
import pickle
import struct

import numpy as np
import pytest
import torch

import datasets  # noqa: F401  (registers OxfordPets)
from clipfit.config import get_cfg
from clipfit.engine.data import decoded as decoded_module
from clipfit.engine.data.data_manager import DataManager, DatasetWrapper
from clipfit.engine.data.decoded import DecodedImages
from clipfit.engine.utils.env import set_random_seed
from clipfit.testing.fixtures import make_dataset_fixture

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIPFIT_CACHE", str(tmp_path / "user-cache"))
    return tmp_path / "user-cache"


@pytest.fixture(scope="module")
def pets_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("data"))
    make_dataset_fixture(root, "OxfordPets", with_split_json=True, photo_size=(120, 90))
    return root


@pytest.fixture
def root(pets_root, tmp_path):
    """A private copy (the caches are written beside the data)."""
    import shutil

    shutil.copytree(pets_root, tmp_path / "data")
    return str(tmp_path / "data")


def manager(root: str, workers: int = 0, subsample: str = "all", **opts) -> DataManager:
    cfg = _frozen_cfg(root, workers, subsample, **opts)
    set_random_seed(1)
    return DataManager(cfg)


def _frozen_cfg(root: str, workers: int = 0, subsample: str = "all", **opts):
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(os.path.dirname(__file__), "..", "..", "configs/datasets/oxford_pets.yaml"))
    cfg.INPUT.TRANSFORMS = ["random_resized_crop", "random_flip", "normalize"]
    cfg.INPUT.INTERPOLATION = "bicubic"
    cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD = CLIP_MEAN, CLIP_STD
    cfg.DATASET.ROOT, cfg.SEED, cfg.USE_CUDA = root, 1, False
    cfg.DATASET.NUM_SHOTS, cfg.DATASET.SUBSAMPLE_CLASSES = 4, subsample
    cfg.DATALOADER.NUM_WORKERS = workers
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = cfg.DATALOADER.TEST.BATCH_SIZE = 4
    for key, value in opts.items():
        node, name = key.split("__")
        setattr(getattr(cfg, node), name, value)
    cfg.freeze()
    return cfg


def batches(loader, seed: int | None = None) -> list[dict]:
    if seed is not None:
        torch.manual_seed(seed)
    return list(loader)


def assert_same_batches(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x["img"], y["img"])
        assert torch.equal(x["label"], y["label"]) and torch.equal(x["index"], y["index"])
        assert x["impath"] == y["impath"]


def cache_files(root: str) -> list[str]:
    folder = os.path.join(root, "oxford_pets", "split_fewshot")
    return sorted(f for f in os.listdir(folder) if f.startswith("eval-"))


def test_eval_from_the_cache_equals_the_pil_loader_bit_for_bit(root, capsys):
    pil = manager(root, DATALOADER__CACHE_EVAL=False)
    assert "eval cache: off (DATALOADER.CACHE_EVAL False)" in capsys.readouterr().out
    cached = manager(root)
    out = capsys.readouterr().out
    assert "eval cache: wrote 6 test images" in out and os.path.join(root, "oxford_pets", "split_fewshot") in out
    assert_same_batches(batches(pil.test_loader), batches(cached.test_loader))
    assert cached.test_loader.note.startswith("eval: 6 test images from cache in ")
    again = manager(root)
    assert "eval cache: 6 test images read from" in capsys.readouterr().out
    assert_same_batches(batches(pil.test_loader), batches(again.test_loader))


def test_base_and_new_read_the_same_file(root, capsys):
    base, new = manager(root, subsample="base"), manager(root, subsample="new")
    assert len(cache_files(root)) == 1
    out = capsys.readouterr().out
    assert out.count("eval cache: wrote") == 1 and out.count("eval cache: 6 test images read from") == 1
    for subset in ("base", "new"):
        pil = manager(root, subsample=subset, DATALOADER__CACHE_EVAL=False)
        assert_same_batches(batches(pil.test_loader), batches((base if subset == "base" else new).test_loader))


def test_stale_and_corrupt_files_are_reported_and_rebuilt(root, capsys):
    manager(root)
    path = os.path.join(root, "oxford_pets", "split_fewshot", cache_files(root)[0])
    capsys.readouterr()
    image = manager(root, DATALOADER__CACHE_EVAL=False).dataset.test[0].impath
    os.utime(image, ns=(1, 1))  # an image changed since the file was written
    capsys.readouterr()
    manager(root)
    out = capsys.readouterr().out
    assert "eval cache: wrote 6 test images" in out and f"to {path} in" in out
    assert "(rebuilt: the old file was stale: the image list, an image file or the transform settings changed)" in out
    assert len([line for line in out.splitlines() if line.startswith("eval cache:")]) == 1
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 10)
    fresh = manager(root)
    assert "(corrupt))" in capsys.readouterr().out
    # A new file under the name (as any writer should: `fresh` keeps reading the one it mapped).
    with open(path + ".new", "wb") as f:
        f.write(b"garbage")
    os.replace(path + ".new", path)
    manager(root)
    assert "(rebuilt: the old file was not an evaluation cache of this format (corrupt))" in capsys.readouterr().out
    pil = manager(root, DATALOADER__CACHE_EVAL=False)
    assert_same_batches(batches(pil.test_loader), batches(fresh.test_loader))


def test_a_failed_build_leaves_no_file_and_the_run_goes_on_without_the_cache(root, monkeypatch, capsys):
    calls = []

    def failing(path, dataset=""):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        from PIL import Image

        return Image.open(path).convert("RGB")

    monkeypatch.setattr(decoded_module, "read_image", failing)  # the one reader the caches decode with
    dm = manager(root, DATALOADER__CACHE_TRAIN=False)
    assert len(calls) > 3  # the build did start, and failed part-way
    out = capsys.readouterr().out  # a full dataset folder, then the cache folder it falls back to (as the reader fails)
    assert "eval cache: off: cannot write split_fewshot/eval-test-" in out and "is full and the cache folder" in out
    assert "(No space left on device)" in out and "test images are decoded at every evaluation" in out
    folder = os.path.join(root, "oxford_pets", "split_fewshot")
    assert not [f for f in os.listdir(folder) if f.startswith(("eval-", ".eval-"))]
    pil = manager(root, DATALOADER__CACHE_EVAL=False, DATALOADER__CACHE_TRAIN=False)
    assert_same_batches(batches(pil.test_loader), batches(dm.test_loader))


@pytest.mark.parametrize("header", [b"[]", b"{}", b'{"version": 1, "shape": "abc", "impaths": 3}'])
def test_a_header_of_the_wrong_shape_is_corrupt(root, capsys, header):
    manager(root)
    path = os.path.join(root, "oxford_pets", "split_fewshot", cache_files(root)[0])
    with open(path, "r+b") as f:
        f.seek(8)
        f.write(struct.pack("<Q", len(header)) + header)
    capsys.readouterr()
    manager(root)
    assert "(rebuilt: the old file was unreadable header (corrupt: " in capsys.readouterr().out


def test_a_garbage_header_length_is_corrupt_not_a_huge_read(root, capsys):
    manager(root)
    path = os.path.join(root, "oxford_pets", "split_fewshot", cache_files(root)[0])
    with open(path, "r+b") as f:
        f.seek(8)
        f.write(struct.pack("<Q", 2**62))
    capsys.readouterr()
    manager(root)
    assert "(rebuilt: the old file was unreadable header (corrupt: ValueError))" in capsys.readouterr().out


def test_a_foreign_dataset_keeps_one_file_per_subset_beside_its_few_shot_caches(root, private_cache, capsys):
    from types import SimpleNamespace

    from clipfit.engine.data.eval_cache import EvalCache, side_files, split_test_transform
    from clipfit.engine.data.transforms import build_transform

    test = manager(root, DATALOADER__CACHE_EVAL=False).dataset.full_test
    pil_part, _ = split_test_transform(build_transform(_frozen_cfg(root), is_train=False))
    # A third-party Dassl dataset: no side-files store, its base/new subsets made by itself.
    dataset_dir = os.path.join(root, "oxford_pets")
    subsets = {"base": test[: len(test) // 2], "new": test[len(test) // 2:]}
    paths = {}
    for name, items in subsets.items():
        foreign = SimpleNamespace(dataset_dir=dataset_dir)
        paths[name] = EvalCache.open(side_files(foreign, items), "test", items, pil_part).path
    assert paths["base"] != paths["new"]
    assert all(os.path.dirname(p) == os.path.join(dataset_dir, "split_fewshot") for p in paths.values())
    capsys.readouterr()
    for name, items in subsets.items():
        again = EvalCache.open(side_files(SimpleNamespace(dataset_dir=dataset_dir), items), "test", items, pil_part)
        assert again.path == paths[name]
    assert capsys.readouterr().out.count(" test images read from ") == 2
    assert not private_cache.exists()


def test_read_only_dataset_folder_puts_the_cache_in_the_user_cache(root, private_cache, monkeypatch, capsys):
    import datasets._shared.storage as storage

    manager(root)  # the few-shot cache first, where a writable folder has it
    for name in cache_files(root):
        os.remove(os.path.join(root, "oxford_pets", "split_fewshot", name))
    monkeypatch.setattr(storage, "is_writable", lambda folder: False)
    capsys.readouterr()
    manager(root)
    out = capsys.readouterr().out
    assert "is read-only (it is not writable); writing split_fewshot/eval-test-224x224-" in out
    assert "eval cache: wrote 6 test images" in out and str(private_cache) in out
    assert not cache_files(root)
    manager(root)
    assert f"eval cache: 6 test images read from {private_cache}" in capsys.readouterr().out


def test_decoded_training_set_gives_the_same_batches(root, capsys):
    for workers in (0, 2):
        today = manager(root, workers, DATALOADER__CACHE_TRAIN=False)
        decoded = manager(root, workers)
        assert "train cache: 12 images decoded once into memory" in capsys.readouterr().out
        for seed in (0, 7):
            assert_same_batches(batches(today.train_loader_x, seed), batches(decoded.train_loader_x, seed))


def test_over_the_memory_cap_the_files_are_read_with_a_notice(root, capsys):
    today = manager(root, DATALOADER__CACHE_TRAIN=False)
    capped = manager(root, DATALOADER__CACHE_TRAIN_MAX_GB=1e-6)
    out = capsys.readouterr().out
    assert "train cache: off: 12 decoded images need 0.00 GiB, over DATALOADER.CACHE_TRAIN_MAX_GB 1e-06; " \
           "reading the image files every epoch" in out
    assert_same_batches(batches(today.train_loader_x, 3), batches(capped.train_loader_x, 3))


class _Addresses(torch.utils.data.Dataset):
    def __init__(self, decoded: DecodedImages):
        self.decoded = decoded

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        return self.decoded.buffer.ctypes.data


def test_workers_read_the_decoded_buffer_in_place(root):
    items = manager(root).dataset.train_x
    decoded = DecodedImages([d.impath for d in items])
    assert decoded.nbytes == sum(decoded.array(p).size for p in decoded.slots)
    seen = torch.utils.data.DataLoader(_Addresses(decoded), batch_size=None, num_workers=2)
    # A copy made for a worker would live elsewhere; the forked workers see the parent's buffer.
    assert [int(a) for a in seen] == [decoded.buffer.ctypes.data] * 2
    from PIL import Image

    first = items[0].impath
    assert np.array_equal(np.asarray(decoded.pil(first)), np.asarray(Image.open(first).convert("RGB")))


def test_the_caches_leave_the_global_rng_where_the_pil_loaders_leave_it(root):
    """Model initialisation and shuffling come after the data: they must draw the same numbers."""
    states = []
    for opts in ({"DATALOADER__CACHE_EVAL": False, "DATALOADER__CACHE_TRAIN": False}, {}):
        dm = manager(root, **opts)
        batches(dm.test_loader)
        batches(dm.train_loader_x)
        states.append(torch.get_rng_state())
    assert torch.equal(states[0], states[1])


def test_a_trainers_own_dataset_wrapper_gets_the_plain_loaders(root, capsys):
    class OwnWrapper(DatasetWrapper):
        pass

    manager(root)  # the few-shot cache first
    capsys.readouterr()
    dm = DataManager(_frozen_cfg(root), dataset_wrapper=OwnWrapper)
    out = capsys.readouterr().out
    assert "train cache: off: the trainer has its own dataset wrapper" in out
    assert "eval cache: off: a custom test transform or dataset wrapper" in out
    assert isinstance(dm.train_loader_x.dataset, OwnWrapper) and isinstance(dm.test_loader.dataset, OwnWrapper)
    assert "Loaders: train: files; eval: files\n" in out
    assert "decoded" not in vars(dm.train_loader_x.dataset)  # nothing is set on the trainer's own wrapper


def test_the_run_prints_the_loader_plan_with_what_was_cached(root, capsys):
    """One line per run names how the images are read, from the plan and the built caches."""
    dm = manager(root)
    images = dm.train_loader_x.dataset.decoded
    out = capsys.readouterr().out
    # 12 few-shot training images (4 shots x 3 classes) decoded, 6 test images cached at 224 x 224 x 3 bytes each
    assert len(images.impaths) == 12 and dm.loader_plan.eval_images == 6
    assert (f"Loaders: train: decoded (12 images, {images.nbytes / 2**20:,.1f} MiB), normalised on cpu; "
            f"eval: cache (6 images, {6 * 224 * 224 * 3 / 2**20:,.1f} MiB)\n") in out
    manager(root, DATALOADER__CACHE_EVAL=False, DATALOADER__CACHE_TRAIN=False)
    assert "Loaders: train: files; eval: files\n" in capsys.readouterr().out


def _dassl_loader(loader, dataset=None):
    """The DataLoader a repository builds from an engine loader's attributes (jusiro/CLAP does this)."""
    return torch.utils.data.DataLoader(copy.deepcopy(loader.dataset) if dataset is None else dataset,
                                       batch_size=loader.batch_size, sampler=loader.sampler,
                                       num_workers=loader.num_workers, drop_last=False, pin_memory=loader.pin_memory)


def test_the_cached_loaders_copy_pickle_and_read_like_dassls_dataloader(root):
    plain = manager(root, DATALOADER__CACHE_EVAL=False, DATALOADER__CACHE_TRAIN=False)
    dm = manager(root)
    for loader, reference in ((dm.train_loader_x, plain.train_loader_x), (dm.test_loader, plain.test_loader)):
        assert type(loader).__name__ == "DeviceLoader"  # the uint8 shortcuts are on
        assert isinstance(loader.dataset, DatasetWrapper)
        assert [type(t).__name__ for t in loader.dataset.transform.transforms][-2:] == ["ToTensor", "Normalize"]
        assert repr(loader.dataset.transform) == repr(reference.dataset.transform)
        assert (loader.batch_size, loader.num_workers, loader.pin_memory, len(loader)) == (
            reference.batch_size, reference.num_workers, reference.pin_memory, len(reference))
        copied, unpickled = copy.deepcopy(loader), pickle.loads(pickle.dumps(loader))
        for other in (copied, unpickled):
            assert other is not loader and other.dataset is not loader.dataset
            assert_same_batches(batches(reference, 5), batches(other, 5))
        # a repository's own DataLoader over the copied dataset gets Dassl's items
        assert_same_batches(batches(_dassl_loader(reference), 5), batches(_dassl_loader(loader), 5))


def test_a_copy_whose_transform_is_replaced_reads_dassls_items_and_leaves_the_original_alone(root):
    plain = manager(root, DATALOADER__CACHE_EVAL=False, DATALOADER__CACHE_TRAIN=False)
    dm = manager(root)
    test_tfm = dm.test_loader.dataset.transform
    for loader in (dm.train_loader_x, dm.test_loader):
        copied = copy.deepcopy(loader)
        copied.dataset.transform = test_tfm if loader is dm.train_loader_x else copy.deepcopy(test_tfm)
        assert loader.dataset.transform is not copied.dataset.transform
        expected = _dassl_loader(loader, DatasetWrapper(dm.test_loader.dataset.cfg, loader.dataset.data_source,
                                                        test_tfm))
        assert_same_batches(batches(expected, 2), batches(copied, 2))
    assert copied.note is None  # the copied test loader read no cache
    assert_same_batches(batches(plain.train_loader_x, 3), batches(dm.train_loader_x, 3))
    assert_same_batches(batches(plain.test_loader), batches(dm.test_loader))
    assert dm.test_loader.note.startswith("eval: 6 test images from cache in ")


def test_device_loader_attribute_lookups_before_init_raise_attribute_error():
    from clipfit.engine.data.device_batches import DeviceLoader

    empty = DeviceLoader.__new__(DeviceLoader)  # what unpickling and copying see first
    assert not hasattr(empty, "loader") and not hasattr(empty, "__setstate__")
    with pytest.raises(AttributeError, match="'DeviceLoader' object has no attribute 'dataset'"):
        empty.dataset


def test_gpu_augment_loader_copies_and_its_dataset_gives_dassls_items(root):
    plain = manager(root, DATALOADER__CACHE_EVAL=False, DATALOADER__CACHE_TRAIN=False)
    loader = manager(root, INPUT__GPU_AUGMENT=True).train_loader_x  # on the CPU here: the same code path
    for other in (copy.deepcopy(loader), pickle.loads(pickle.dumps(loader))):
        images = [b["img"] for b in batches(other, 4)]
        assert [tuple(x.shape) for x in images] == [(4, 3, 224, 224)] * 3 and images[0].dtype == torch.float32
    assert_same_batches(batches(_dassl_loader(plain.train_loader_x), 6), batches(_dassl_loader(loader), 6))

"""CoOp's dataset flow, written once: split file -> few-shot cache -> base/new subsampling.

Dataset files subclass one of the three classes at the end and hold only their layout:

- `SplitDataset`: the 10 datasets with an official `split_zhou_<Name>.json` (and FGVCAircraft, which
  has official split lists instead). Subclasses implement `read_native()`, used when the JSON is absent.
- `FewShotDataset`: the flow shared with ImageNet, whose subclass implements `read_splits()`.
- `TestOnlyDataset`: the ImageNet variants; `read_items()` reads one folder per wnid unless overridden.

The helpers keep CoOp's names and signatures (`read_split`, `save_split`, `split_trainval`,
`read_and_split_data`, `subsample_classes`) and are also reachable as static methods of every dataset
class, e.g. `OxfordPets.subsample_classes(...)`, as CoOp-style code calls them.
"""
from __future__ import annotations

import math
import os
import random
import sys
from collections import OrderedDict, defaultdict
from typing import Callable, Iterable

from clipfit.compat import Datum, DatasetBase
from clipfit.datum_pickle import save_datum_pickle
from clipfit.files import atomic_write, dump_json_text

from .storage import (
    DOCS_FILE,
    CorruptDatasetFile,
    DatasetError,
    DatasetFiles,
    DatasetNotFound,
    absent,
    check_images_exist,
    docs_ref,
    list_names,
    load_datum_cache,
    make_datum,
    read_json_file,
    resolve_cached_paths,
    text_lines,
)

SUBSAMPLE_CHOICES = ("all", "base", "new")
SPLIT_KEYS = ("train", "val", "test")
# What a dataset can be in the benchmarks (its `benchmarks` attribute): one of the 11 base-to-new and
# few-shot datasets, the source or a target of cross-dataset transfer, a domain-generalization target.
BENCHMARK_ROLES = ("base2new", "few_shot", "xd_source", "xd_target", "dg_target")

# ----------------------------------------------------------------------------------------------
# Split files (`split_zhou_<Name>.json`)
# ----------------------------------------------------------------------------------------------


def _split_advice(anchor: str | None) -> str:
    where = f" ({docs_ref(anchor)})" if anchor else ""
    return (
        f"Delete it and put the official file in its place{where}, e.g. with "
        "`clipfit data check --root <DATA> --download-splits`; without the file a random split is made."
    )


def parse_split(data, source: str, advice: str = "") -> dict[str, list[tuple[str, int, str]]]:
    """Validate the content of a split JSON: {"train"|"val"|"test": [[relpath, label, classname], ...]}."""
    if not isinstance(data, dict) or any(not isinstance(data.get(k), list) for k in SPLIT_KEYS):
        raise CorruptDatasetFile(f"{source} is not a split file: it must be a JSON object with lists 'train', 'val' and 'test'. {advice}")
    splits = {}
    for key in SPLIT_KEYS:
        items = []
        for i, entry in enumerate(data[key]):
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and isinstance(entry[2], str)):
                raise CorruptDatasetFile(f"{source}: item {i} of {key!r} is {entry!r}, not [path, label, classname]. {advice}")
            try:
                label = int(entry[1])
            except (TypeError, ValueError):
                raise CorruptDatasetFile(f"{source}: item {i} of {key!r} has label {entry[1]!r}, not an integer. {advice}") from None
            items.append((entry[0], label, entry[2]))
        splits[key] = items
    return splits


def read_split(filepath: str, path_prefix: str, anchor: str | None = None) -> tuple[list, list, list]:
    """Read a split JSON: `[relative path, label, classname]` items joined to `path_prefix`, in file order.

    All images are checked in one pass (folder listings), then Datums are built without per-file
    checks. Missing images raise one `MissingImages` that counts and names them.
    """
    print(f"Reading split from {filepath}")
    advice = _split_advice(anchor)
    splits = parse_split(read_json_file(filepath, advice), filepath, advice)
    joined = {key: [(os.path.join(path_prefix, rel), label, cname) for rel, label, cname in splits[key]] for key in SPLIT_KEYS}
    check_images_exist(
        [impath for key in SPLIT_KEYS for impath, _, _ in joined[key]],
        filepath,
        f"They are looked up under {path_prefix}. Check that the images are extracted as "
        f"{docs_ref(anchor) if anchor else DOCS_FILE} describes, and that the split file belongs to this dataset.",
    )
    return tuple([make_datum(impath, label, cname) for impath, label, cname in joined[key]] for key in SPLIT_KEYS)


def split_to_json(train: list, val: list, test: list, path_prefix: str) -> dict:
    """CoOp's serialisation: every occurrence of `path_prefix` removed from the path, one leading '/' cut."""

    def convert(items):
        out = []
        for item in items:
            impath = item.impath.replace(path_prefix, "")
            if impath.startswith("/"):
                impath = impath[1:]
            out.append((impath, item.label, item.classname))
        return out

    return {"train": convert(train), "val": convert(val), "test": convert(test)}


def save_split(train: list, val: list, test: list, filepath: str, path_prefix: str) -> None:
    """Write a split JSON atomically in Dassl's layout and print `Saved split to <path>`."""
    _write_split_text(dump_json_text(split_to_json(train, val, test, path_prefix)), filepath)


def _write_split_text(text: str, filepath: str) -> None:
    atomic_write(filepath, lambda f: f.write(text), mode="w")
    print(f"Saved split to {filepath}")


# ----------------------------------------------------------------------------------------------
# Random splits (only when the official split file is absent). Python's `round` (half to even) and
# the order of `random.shuffle` calls are part of the result.
# ----------------------------------------------------------------------------------------------


def split_trainval(trainval: list, p_val: float = 0.2) -> tuple[list, list]:
    """Per label (first-appearance order): shuffle the indices, the first round(n*p_val) go to val."""
    p_trn = 1 - p_val
    print(f"Splitting trainval into {p_trn:.0%} train and {p_val:.0%} val")
    by_label = defaultdict(list)
    for idx, item in enumerate(trainval):
        by_label[item.label].append(idx)
    train, val = [], []
    for label, idxs in by_label.items():
        n_val = round(len(idxs) * p_val)
        if n_val <= 0:
            raise CorruptDatasetFile(
                f"class {label} has {len(idxs)} trainval images; a {p_val:.0%} val split needs at least 3 per class"
            )
        random.shuffle(idxs)
        for n, idx in enumerate(idxs):
            (val if n < n_val else train).append(trainval[idx])
    return train, val


def split_by_ratio(groups: Iterable[tuple[int, str, list[str]]], p_trn: float = 0.5, p_val: float = 0.2) -> tuple[list, list, list]:
    """Shuffle each `(label, classname, impaths)` group in turn and cut it into train/val/test.

    `n_train = round(n*p_trn)`, `n_val = round(n*p_val)`, the rest is test; each must be > 0.
    """
    train, val, test = [], [], []
    for label, classname, impaths in groups:
        random.shuffle(impaths)
        n_total = len(impaths)
        n_train = round(n_total * p_trn)
        n_val = round(n_total * p_val)
        if n_train <= 0 or n_val <= 0 or n_total - n_train - n_val <= 0:
            raise CorruptDatasetFile(
                f"class {classname!r} has {n_total} images; a {p_trn:.0%}/{p_val:.0%} split needs at least 4 per class"
            )
        for impath in impaths[:n_train]:
            train.append(make_datum(impath, label, classname))
        for impath in impaths[n_train : n_train + n_val]:
            val.append(make_datum(impath, label, classname))
        for impath in impaths[n_train + n_val :]:
            test.append(make_datum(impath, label, classname))
    return train, val, test


def read_and_split_data(
    image_dir: str, p_trn: float = 0.5, p_val: float = 0.2, ignored: Iterable[str] = (), new_cnames: dict | None = None
) -> tuple[list, list, list]:
    """One folder per class under `image_dir`: labels by sorted folder name (uppercase first), files in
    file-system order, then `split_by_ratio`. `new_cnames` renames classes after labelling."""
    ignored = set(ignored)
    categories = sorted(c for c in list_names(image_dir, "dirs") if c not in ignored)
    p_tst = 1 - p_trn - p_val
    print(f"Splitting into {p_trn:.0%} train, {p_val:.0%} val, and {p_tst:.0%} test")
    new_cnames = new_cnames or {}

    def groups():
        for label, category in enumerate(categories):
            category_dir = os.path.join(image_dir, category)
            impaths = [os.path.join(category_dir, name) for name in list_names(category_dir, "files")]
            yield label, new_cnames.get(category, category), impaths

    return split_by_ratio(groups(), p_trn, p_val)


# ----------------------------------------------------------------------------------------------
# Base/new classes
# ----------------------------------------------------------------------------------------------


def subsample_classes(*args: list, subsample: str = "all") -> list:
    """Keep the first (base) or last (new) half of the sorted labels of the FIRST list, relabelled 0..m-1.

    With an odd class count base gets the extra class (37 -> 19/18). Returns a list of lists.
    """
    if subsample not in SUBSAMPLE_CHOICES:
        raise ValueError(f"DATASET.SUBSAMPLE_CLASSES must be one of {list(SUBSAMPLE_CHOICES)}, got {subsample!r}")
    if subsample == "all":
        return args
    labels = sorted({item.label for item in args[0]})
    m = math.ceil(len(labels) / 2)
    print(f"SUBSAMPLE {subsample.upper()} CLASSES!")
    selected = labels[:m] if subsample == "base" else labels[m:]
    relabeler = {old: new for new, old in enumerate(selected)}
    return [
        [make_datum(item.impath, relabeler[item.label], item.classname) for item in items if item.label in relabeler]
        for items in args
    ]


# ----------------------------------------------------------------------------------------------
# ImageNet-style helpers (classnames.txt, one folder per class)
# ----------------------------------------------------------------------------------------------


def read_classnames(text_file: str) -> OrderedDict:
    """`classnames.txt`: `<wnid> <class name words...>` per line, in file order."""
    classnames = OrderedDict()
    for _, line in text_lines(text_file):
        wnid, *words = line.split(" ")
        classnames[wnid] = " ".join(words)
    return classnames


def _progress(items: list, desc: str):
    """A progress bar on stderr where a listing takes seconds (hundreds of class folders)."""
    if len(items) < 100:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="class", file=sys.stderr, leave=False, dynamic_ncols=True)


def read_class_folders(image_dir: str, folders: list[str], classname_of: Callable[[int, str], str]) -> list[Datum]:
    """Items of `image_dir/<folder>/<file>`; label = index in `folders`, files in file-system order.

    One `scandir` per folder, file types from the directory entries: no per-file stat.
    """
    items = []
    for label, folder in enumerate(_progress(folders, f"Listing {image_dir}")):
        class_dir = os.path.join(image_dir, folder)
        classname = classname_of(label, folder)
        prefix = class_dir + os.sep
        items.extend(make_datum(prefix + name, label, classname) for name in list_names(class_dir, "files"))
    return items


def classname_lookup(text_file: str, anchor: str) -> Callable[[int, str], str]:
    """`classname_of` for `read_class_folders`: the name `text_file` (classnames.txt) gives each wnid folder."""
    classnames = read_classnames(text_file)

    def lookup(label: int, folder: str) -> str:
        try:
            return classnames[folder]
        except KeyError:
            raise CorruptDatasetFile(
                f"the image folder {folder!r} has no line in {text_file}; use the 1000-line classnames.txt "
                f"of CoOp ({docs_ref(anchor)})"
            ) from None

    return lookup


# ----------------------------------------------------------------------------------------------
# Notices
# ----------------------------------------------------------------------------------------------


def _banner(lines: list[str]) -> None:
    rule = "*" * 100
    print("\n".join([rule, *(f"* {line}" for line in lines), rule]))


def not_comparable_notice(name: str, split_file: str, dataset_dir: str, anchor: str, generated: str | None = None) -> None:
    if generated:
        first = f"{name}: {generated} is a RANDOM split made by this project, not CoOp's official {split_file}."
    else:
        first = f"{name}: the official split file {split_file} is not in {dataset_dir}; making a RANDOM split."
    _banner(
        [
            first,
            "Results with it are NOT comparable with published numbers (the split depends on the seed and",
            "the directory listing order). Get the official file as described in "
            f"{docs_ref(anchor)},",
            "e.g. `clipfit data check --root <DATA> --download-splits`, and delete split_fewshot/ made with this split.",
        ]
    )


# ----------------------------------------------------------------------------------------------
# The dataset classes
# ----------------------------------------------------------------------------------------------


class CoOpDataset(DatasetBase):
    """What all 15 datasets share: the folder under DATASET.ROOT, its checks and its side files.

    Class attributes (the layout, read by `clipfit data check` too):
      dataset_dir   folder under DATASET.ROOT; on instances it becomes the absolute path, as in CoOp
      image_subdir  image root inside it (the JSON path prefix); "" means the dataset folder itself
      required      paths every run needs, relative to the dataset folder
      native_files  paths needed only when the split file (or preprocessed cache) is absent
      count_dirs    folders whose images `clipfit data check` counts (default: image_subdir)
      preprocessed_file  a cache of the full lists that replaces native_files when present (ImageNet)

    and its facts, from which the application derives every table of datasets (scripts, sweeps, report,
    data check, split downloads):
      config_stem   stem of configs/datasets/<stem>.yaml, the name the scripts take and the output folder;
                    None: the name of the class's module (datasets/oxford_pets.py -> oxford_pets)
      config_file   the YAML's path when it is not configs/datasets/<stem>.yaml (a plugin elsewhere)
      display_name  the name in the published tables; None: the class name
      benchmarks    its roles, of BENCHMARK_ROLES
      template      CoOp's hand-written prompt ("a photo of a {}, a type of pet."); None: the default one
      split_file_id Google Drive id of the official split file (for `clipfit data check --download-splits`)
    """

    dataset_dir = ""
    image_subdir = ""
    split_file: str | None = None
    required: tuple[str, ...] = ()
    native_files: tuple[str, ...] = ()
    count_dirs: tuple[str, ...] | None = None
    preprocessed_file: str | None = None

    config_stem: str | None = None
    config_file: str | None = None
    display_name: str | None = None
    benchmarks: tuple[str, ...] = ()
    template: str | None = None
    split_file_id: str | None = None

    @classmethod
    def extend_cfg(cls, cfg) -> None:
        """The key every CoOp dataset reads (clipfit.config.get_cfg applies it)."""
        cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base or new

    # CoOp's helpers, reachable as e.g. `OxfordPets.read_split(...)`
    read_split = staticmethod(read_split)
    save_split = staticmethod(save_split)
    split_trainval = staticmethod(split_trainval)
    read_and_split_data = staticmethod(read_and_split_data)
    subsample_classes = staticmethod(subsample_classes)
    read_classnames = staticmethod(read_classnames)

    @classmethod
    def anchor(cls) -> str:
        """The section of DATASETS.md about this dataset (a stable GitHub heading anchor)."""
        return cls.__name__.lower()

    @classmethod
    def dirs_under(cls, root: str) -> tuple[str, str]:
        """(dataset folder, image root) of this dataset under the data root `root`."""
        dataset_dir = os.path.join(root, cls.dataset_dir)
        return dataset_dir, os.path.join(dataset_dir, cls.image_subdir) if cls.image_subdir else dataset_dir

    def __init__(self, cfg):
        root = os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT))
        self.dataset_dir, self.image_dir = self.dirs_under(root)
        self.files = DatasetFiles(self.dataset_dir)
        self._check_layout(root)
        try:
            train_x, val, test = self.build(cfg)
        except DatasetError:
            raise
        except (FileNotFoundError, NotADirectoryError) as e:
            path = e.filename or str(e)
            raise DatasetNotFound(
                f"{type(self).__name__}: {path} not found. The expected layout of {self.dataset_dir} and where to "
                f"get each file: {docs_ref(self.anchor())}"
            ) from e
        super().__init__(train_x=train_x, val=val, test=test)

    def build(self, cfg) -> tuple[list, list | None, list]:
        raise NotImplementedError

    def _check_layout(self, root: str) -> None:
        name, ref = type(self).__name__, docs_ref(self.anchor())
        if not os.path.isdir(self.dataset_dir):
            where = "" if os.path.isdir(root) else f" (DATASET.ROOT {root} itself does not exist)"
            raise DatasetNotFound(
                f"{name}: dataset folder not found: {self.dataset_dir}{where}. Put the dataset there as "
                f"{ref} describes (symlinks are fine), or set DATASET.ROOT to the folder that holds "
                f"{type(self).dataset_dir}/. `clipfit data check --root <DATA>` lists what is missing."
            )
        self.require(self.required)

    def require(self, relpaths: Iterable[str], why: str = "") -> None:
        """Raise one `DatasetNotFound` naming every absent path of `relpaths` (relative to the dataset folder)."""
        missing = absent(self.dataset_dir, relpaths)
        if missing:
            listed = "\n".join(f"  {os.path.join(self.dataset_dir, p)}" for p in missing)
            raise DatasetNotFound(
                f"{type(self).__name__}: missing{why}:\n{listed}\nThe expected layout and where to get each file: "
                f"{docs_ref(self.anchor())}"
            )


class FewShotDataset(CoOpDataset):
    """Full splits -> few-shot cache `split_fewshot/shot_K-seed_S.pkl` -> base/new subsampling.

    `read_splits()` returns (train, val, test); val None means the test set doubles as val (ImageNet).
    """

    def read_splits(self) -> tuple[list, list | None, list]:
        raise NotImplementedError

    def build(self, cfg):
        self.split_fewshot_dir = os.path.join(self.dataset_dir, "split_fewshot")
        train, val, test = self.read_splits()
        num_shots = cfg.DATASET.NUM_SHOTS
        if num_shots >= 1:
            train, val = self.fewshot(train, val, num_shots, cfg.SEED)
        subsample = cfg.DATASET.SUBSAMPLE_CLASSES
        if val is None:
            train, test = subsample_classes(train, test, subsample=subsample)
            return train, test, test
        train, val, test = subsample_classes(train, val, test, subsample=subsample)
        return train, val, test

    def fewshot(self, train: list, val: list | None, num_shots: int, seed: int) -> tuple[list, list | None]:
        """Load the cache for (K, seed), or sample it (train with K, then val with min(K, 4)) and save it."""
        relpath = os.path.join("split_fewshot", f"shot_{num_shots}-seed_{seed}.pkl")
        keys = ("train",) if val is None else ("train", "val")
        found = self.files.find(relpath)
        if found:
            print(f"Loading preprocessed few-shot data from {found}")
            advice = "Delete it: it is re-created on the next run (same split file and seed give the same images)."
            data = resolve_cached_paths(load_datum_cache(found, keys, advice), self.dataset_dir, found)
            self._warn_if_foreign(data, {"train": train, "val": val}, found)
            return data["train"], data.get("val")
        train = self.generate_fewshot_dataset(train, num_shots=num_shots)
        data = {"train": train}
        if val is not None:
            val = self.generate_fewshot_dataset(val, num_shots=min(num_shots, 4))
            data["val"] = val
        self.files.save(
            relpath,
            lambda path: save_datum_pickle(data, path),
            announce=lambda path: print(f"Saving preprocessed few-shot data to {path}"),
        )
        return train, val

    @staticmethod
    def _warn_if_foreign(cached: dict, current: dict, cache: str) -> None:
        """A cache sampled from another split (e.g. made before the official split file was added)."""
        for key, items in cached.items():
            pool = {d.impath for d in current.get(key) or ()}
            foreign = sum(d.impath not in pool for d in items)
            if foreign:
                print(
                    f"WARNING: {foreign} of the {len(items)} {key} items in {cache} are not in the current {key} "
                    "split: the cache was sampled from another split file. Delete it to sample from the current one."
                )


class SplitDataset(FewShotDataset):
    """Datasets whose lists come from `split_file` when present, else from `read_native()` + a saved split.

    With `split_file = None` (FGVCAircraft) the native lists are always used and nothing is written.
    """

    def read_native(self) -> tuple[list, list, list]:
        """Train, val and test from the original annotations (random parts use Python's `random`)."""
        raise NotImplementedError

    def read_native_checked(self) -> tuple[list, list, list]:
        train, val, test = self.read_native()
        check_images_exist(
            [d.impath for d in (*train, *val, *test)],
            f"the annotations of {type(self).__name__} in {self.dataset_dir}",
            f"Check that the images are extracted as {docs_ref(self.anchor())} describes.",
        )
        return train, val, test

    def read_splits(self):
        if self.split_file is None:
            self.require(self.native_files)
            return self.read_native_checked()
        self.split_path = self.files.primary(self.split_file)
        found = self.files.find(self.split_file)
        if found:
            if self.files.made_here(found, self.split_file):
                not_comparable_notice(type(self).__name__, self.split_file, self.dataset_dir, self.anchor(), generated=found)
            return read_split(found, self.image_dir, self.anchor())
        self.require(self.native_files, f" (neither {self.split_file} nor the files to make a split from are present)")
        not_comparable_notice(type(self).__name__, self.split_file, self.dataset_dir, self.anchor())
        train, val, test = self.read_native_checked()
        text = dump_json_text(split_to_json(train, val, test, self.image_dir))

        def write(path):
            _write_split_text(text, path)
            self.files.mark_generated(path, text)

        self.files.save(self.split_file, write)
        return train, val, test


class TestOnlyDataset(CoOpDataset):
    """Evaluation-only datasets: one list used as train_x and test; NUM_SHOTS and SUBSAMPLE_CLASSES ignored."""

    def read_items(self) -> list:
        """Items of `image_dir/<wnid>/`, labels by sorted wnid, names from `classnames.txt`. Only folders
        count, so a release's README.txt beside them is skipped."""
        lookup = classname_lookup(os.path.join(self.dataset_dir, "classnames.txt"), self.anchor())
        return read_class_folders(self.image_dir, sorted(list_names(self.image_dir, "dirs")), lookup)

    def build(self, cfg):
        data = self.read_items()
        return data, None, data

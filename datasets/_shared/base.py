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

import os
from collections.abc import Iterable

from clipfit.compat import DatasetBase
from clipfit.core.atomic_files import dump_json_text
from clipfit.core.user_paths import folder_problem

from .cached_paths import resolve_cached_paths
from .class_folders import classname_lookup, read_class_folders, read_classnames
from .datum_pickle import save_datum_pickle
from .errors import CorruptDatasetFile, DatasetError, DatasetNotFound, docs_ref
from .fewshot_checks import check_fewshot_cache, check_lists
from .inspection import DatasetReport, Decoder, inspect_layout, split_state
from .listing import absent, check_images_exist, list_names
from .notices import not_comparable_notice
from .random_splits import read_and_split_data, split_trainval
from .readers import load_datum_cache
from .split_files import empty_parts, read_split, save_split, split_to_json, write_split_text
from .storage import DatasetFiles
from .subsample import subsample_classes

# with CoOp's helper names, importable from here as CoOp-style code does
__all__ = ["BENCHMARK_ROLES", "CoOpDataset", "FewShotDataset", "SplitDataset", "TestOnlyDataset", "read_and_split_data",
           "read_classnames", "read_split", "save_split", "split_trainval", "subsample_classes"]

# What a dataset can be in the benchmarks (its `benchmarks` attribute): one of the 11 base-to-new and
# few-shot datasets, the source or a target of cross-dataset transfer, a domain-generalization target.
BENCHMARK_ROLES = ("base2new", "few_shot", "xd_source", "xd_target", "dg_target")


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
        """The key every CoOp dataset reads (clipfit.config.get_cfg applies it); the root of the datasets'
        chain (Dassl's DatasetBase has no extend_cfg): a subclass calls super().extend_cfg(cfg) first."""
        cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base or new

    # CoOp's helpers, reachable as e.g. `OxfordPets.read_split(...)`
    read_split = staticmethod(read_split)
    save_split = staticmethod(save_split)
    split_trainval = staticmethod(split_trainval)
    read_and_split_data = staticmethod(read_and_split_data)
    subsample_classes = staticmethod(subsample_classes)
    read_classnames = staticmethod(read_classnames)

    @classmethod
    def inspect(cls, root: str, decode: Decoder | None = None) -> DatasetReport:
        """What is ready of this dataset under the data root `root`, and what to do (`clipfit data check`)."""
        return inspect_layout(cls, root, decode)

    @classmethod
    def inspect_split(cls, files: DatasetFiles, found: str | None, report: DatasetReport) -> dict | None:
        """The state of the lists `read_splits` reads, noted in `report`; the split file's entries if valid."""
        return split_state(cls, files, found, report)

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
        self._check_layout(root, cfg.DATASET.ROOT)
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

    def side_files(self) -> DatasetFiles:
        return self.files  # the engine's evaluation cache lies beside the split and few-shot files

    def build(self, cfg) -> tuple[list, list | None, list]:
        raise NotImplementedError

    @classmethod
    def missing_folder(cls, root: str, root_key: str = "DATASET.ROOT", given: str | None = None
                       ) -> DatasetNotFound | None:
        """The error to raise when this dataset's folder is not under the data root `root` (None when it is);
        `root_key` is how the user set the root (the scripts' DATA, train.py's DATASET.ROOT), `given` the root
        as the user wrote it (a relative one is said to be relative to the current directory)."""
        dataset_dir = cls.dirs_under(root)[0]
        if os.path.isdir(dataset_dir):
            return None
        problem = folder_problem(root if given is None else given, root_key)
        where = f" ({problem})" if problem else ""
        return DatasetNotFound(
            f"{cls.__name__}: dataset folder not found: {dataset_dir}{where}. Put the dataset there as "
            f"{docs_ref(cls.anchor())} describes (symlinks are fine), or set {root_key} to the folder that holds "
            f"{cls.dataset_dir}/. `clipfit data check --root <DATA>` lists what is missing."
        )

    def _check_layout(self, root: str, given: str) -> None:
        if (missing := self.missing_folder(root, given=given)) is not None:
            raise missing
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
        check_lists(self, f"the lists read from {self.dataset_dir}", train, val, test)
        self.full_test = test  # before base/new subsampling (DatasetBase.full_test)
        num_shots = cfg.DATASET.NUM_SHOTS
        if num_shots >= 1:
            train, val = self.fewshot(train, val, num_shots, cfg.SEED, test)
        subsample = cfg.DATASET.SUBSAMPLE_CLASSES
        if val is None:
            train, test = subsample_classes(train, test, subsample=subsample)
            return train, test, test
        return tuple(subsample_classes(train, val, test, subsample=subsample))

    def require_images(self, train: list, val: list | None, test: list, source: str = "") -> None:
        """Never make (or write) lists with an empty part: they would be reused after the images come back.
        `source`: the saved file the lists were read from, when they were."""
        empty = " / ".join(empty_parts(train=train, val=val, test=test))
        if not empty:
            return
        if source:
            raise CorruptDatasetFile(
                f"{type(self).__name__}: {source} lists no images for {empty}: it was made while the image folder "
                "was empty. Delete it; with the images in place the next run makes it again."
            )
        raise DatasetNotFound(
            f"{type(self).__name__}: no images for {empty} under {self.image_dir} (the folder is empty or lacks "
            f"the files its layout needs). Put the images there as {docs_ref(self.anchor())} describes; "
            "`clipfit data check --root <DATA>` shows what is missing. Nothing was written."
        )

    def fewshot(self, train: list, val: list | None, num_shots: int, seed: int, test: list = ()
                ) -> tuple[list, list | None]:
        """Load the cache for (K, seed), or sample it (train with K, then val with min(K, 4)) and save it.
        A loaded cache is checked against the split (`check_fewshot_cache`; `test`: the test split)."""
        relpath = os.path.join("split_fewshot", f"shot_{num_shots}-seed_{seed}.pkl")
        keys = ("train",) if val is None else ("train", "val")
        found = self.files.find(relpath)
        if found:
            print(f"Loading preprocessed few-shot data from {found}")
            advice = "Delete it: it is re-created on the next run (same split file and seed give the same images)."
            data = resolve_cached_paths(load_datum_cache(found, keys, advice), self.dataset_dir, found)
            check_fewshot_cache(data, {"train": train, "val": val}, list(test), found)
            return data["train"], data.get("val")
        train = self.generate_fewshot_dataset(train, num_shots=num_shots)
        data = {"train": train}
        if val is not None:
            val = self.generate_fewshot_dataset(val, num_shots=min(num_shots, 4))
            data["val"] = val
        self.files.save(relpath, lambda path: save_datum_pickle(data, path),
                        announce=lambda path: print(f"Saving preprocessed few-shot data to {path}"))
        return train, val


class SplitDataset(FewShotDataset):
    """Datasets whose lists come from `split_file` when present, else from `read_native()` + a saved split.

    With `split_file = None` (FGVCAircraft) the native lists are always used and nothing is written.
    """

    def read_native(self) -> tuple[list, list, list]:
        """Train, val and test from the original annotations (random parts use Python's `random`)."""
        raise NotImplementedError

    def read_native_checked(self) -> tuple[list, list, list]:
        train, val, test = self.read_native()
        source = f"the annotations of {type(self).__name__} in {self.dataset_dir}"
        check_images_exist(
            [d.impath for d in (*train, *val, *test)],
            source,
            f"Check that the images are extracted as {docs_ref(self.anchor())} describes.",
        )
        check_lists(self, source, train, val, test, disjoint=True)
        return train, val, test

    def read_splits(self):
        if self.split_file is None:
            self.require(self.native_files)
            return self.read_native_checked()
        self.split_path = self.files.primary(self.split_file)
        found = self.files.find(self.split_file)
        if found:
            if self.files.made_here(found, self.split_file):
                not_comparable_notice(
                    type(self).__name__, self.split_file, self.dataset_dir, self.anchor(), generated=found
                )
            return read_split(found, self.image_dir, self.anchor())
        self.require(self.native_files, f" (neither {self.split_file} nor the files to make a split from are present)")
        not_comparable_notice(type(self).__name__, self.split_file, self.dataset_dir, self.anchor())
        train, val, test = self.read_native_checked()
        self.require_images(train, val, test)
        text = dump_json_text(split_to_json(train, val, test, self.image_dir))

        def write(path):
            write_split_text(text, path)
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

    @classmethod
    def inspect_split(cls, files: DatasetFiles, found: str | None, report: DatasetReport) -> None:
        report.split = "test only"  # one folder per class, no split file

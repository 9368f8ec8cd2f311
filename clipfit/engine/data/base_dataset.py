"""`Datum` and `DatasetBase` with Dassl's semantics, including its few-shot sampling."""
from __future__ import annotations

import random
from collections import defaultdict

from ...core.atomic_files import check_isfile
from ..registry import DATASET_REGISTRY, build_from_registry


class Datum:
    """One labelled image. The four attribute names are part of the pickle format shared with Dassl."""

    def __init__(self, impath: str = "", label: int = 0, domain: int = 0, classname: str = ""):
        assert isinstance(impath, str)
        assert check_isfile(impath)
        self._impath = impath
        self._label = label
        self._domain = domain
        self._classname = classname

    @property
    def impath(self) -> str:
        return self._impath

    @property
    def label(self) -> int:
        return self._label

    @property
    def domain(self) -> int:
        return self._domain

    @property
    def classname(self) -> str:
        return self._classname

    def __repr__(self) -> str:
        return (
            f"Datum(impath={self._impath!r}, label={self._label}, domain={self._domain}, "
            f"classname={self._classname!r})"
        )


class DatasetBase:
    """Holds train_x / train_u / val / test lists; class count and names come from train_x."""

    dataset_dir = ""
    domains: list = []
    # What the engine reads beyond Dassl's lists, declared here so that a dataset class sees the whole contract:
    # the whole test split before base/new subsampling (the evaluation cache holds it once, so the base and the
    # new runs read one file); None when `test` is the whole split, as in Dassl's datasets.
    full_test: list | None = None

    def side_files(self):
        """Where the engine keeps files derived from this dataset (the evaluation cache): an object with
        `find(relpath) -> path | None` and `save(relpath, write, announce=None) -> path`. None (Dassl's
        datasets): beside the few-shot caches under `dataset_dir` when writable, else the per-user cache."""
        return None

    def __init__(self, train_x=None, train_u=None, val=None, test=None):
        self._train_x = train_x
        self._train_u = train_u
        self._val = val
        self._test = test
        self._num_classes = self.get_num_classes(train_x)
        self._lab2cname, self._classnames = self.get_lab2cname(train_x)

    @property
    def train_x(self):
        return self._train_x

    @property
    def train_u(self):
        return self._train_u

    @property
    def val(self):
        return self._val

    @property
    def test(self):
        return self._test

    @property
    def lab2cname(self) -> dict:
        return self._lab2cname

    @property
    def classnames(self) -> list[str]:
        return self._classnames

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @staticmethod
    def get_num_classes(data_source) -> int:
        return max({item.label for item in data_source}) + 1

    @staticmethod
    def get_lab2cname(data_source) -> tuple[dict, list[str]]:
        mapping = dict({(item.label, item.classname) for item in data_source})
        labels = sorted(mapping.keys())
        return mapping, [mapping[label] for label in labels]

    def check_input_domains(self, source_domains, target_domains) -> None:
        assert len(source_domains) > 0, "source_domains (list) is empty"
        assert len(target_domains) > 0, "target_domains (list) is empty"
        self.is_input_domain_valid(source_domains)
        self.is_input_domain_valid(target_domains)

    def is_input_domain_valid(self, input_domains) -> None:
        for domain in input_domains:
            if domain not in self.domains:
                raise ValueError(f"Input domain must belong to {self.domains}, but got [{domain}]")

    def download_data(self, url: str, dst: str, from_gdrive: bool = True) -> None:
        import os
        import tarfile
        import zipfile

        import gdown

        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if from_gdrive:
            gdown.download(url, dst, quiet=False)
        else:
            raise NotImplementedError("Only Google Drive downloads are supported")
        print("Extracting file ...")
        if dst.endswith(".zip"):
            with zipfile.ZipFile(dst, "r") as zf:
                zf.extractall(os.path.dirname(dst))
        elif dst.endswith((".tar", ".tar.gz")):
            with tarfile.open(dst) as tar:
                tar.extractall(os.path.dirname(dst))
        else:
            raise NotImplementedError(f"Cannot extract {dst}")
        print(f"File extracted to {os.path.dirname(dst)}")

    def generate_fewshot_dataset(self, *data_sources, num_shots: int = -1, repeat: bool = False):
        """K items per class, drawn with Python's global `random` in Dassl's exact call order."""
        if num_shots < 1:
            return data_sources[0] if len(data_sources) == 1 else data_sources
        print(f"Creating a {num_shots}-shot dataset")
        output = []
        for data_source in data_sources:
            sampled = []
            for items in self.split_dataset_by_label(data_source).values():
                if len(items) >= num_shots:
                    sampled.extend(random.sample(items, num_shots))
                elif repeat:
                    sampled.extend(random.choices(items, k=num_shots))
                else:
                    sampled.extend(items)
            output.append(sampled)
        return output[0] if len(output) == 1 else output

    def split_dataset_by_label(self, data_source) -> defaultdict:
        output = defaultdict(list)
        for item in data_source:
            output[item.label].append(item)
        return output

    def split_dataset_by_domain(self, data_source) -> defaultdict:
        output = defaultdict(list)
        for item in data_source:
            output[item.domain].append(item)
        return output


def build_dataset(cfg) -> DatasetBase:
    return build_from_registry(DATASET_REGISTRY, cfg.DATASET.NAME, "dataset", cfg.VERBOSE, cfg)

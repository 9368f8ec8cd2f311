"""`build_sampler` and Dassl's domain / class samplers (Python `random` in Dassl's call order)."""
from __future__ import annotations

import copy
import random
from collections import defaultdict

import numpy as np
from torch.utils.data.sampler import RandomSampler, Sampler, SequentialSampler

from ...errors import InvalidValue

__all__ = [
    "RandomSampler", "SequentialSampler", "RandomDomainSampler", "SeqDomainSampler", "RandomClassSampler",
    "build_sampler",
]


def _indices_by(data_source, key: str) -> defaultdict:
    """Item indices grouped by `item.<key>`, groups in order of first appearance."""
    groups = defaultdict(list)
    for i, item in enumerate(data_source):
        groups[getattr(item, key)].append(i)
    return groups


def _draw_domain_batches(domain_idxs: dict, domains_per_batch, n_per_domain: int) -> list[int]:
    """Batch after batch, `n_per_domain` unused indices from each chosen domain, until a domain runs short.

    `domains_per_batch()` picks a batch's domains. The epoch ends after the batch in which some domain
    is left with fewer than `n_per_domain` indices, so every domain is drawn from without replacement.
    """
    remaining = copy.deepcopy(domain_idxs)
    picked: list[int] = []
    exhausted = False
    while not exhausted:
        for domain in domains_per_batch():
            chosen = random.sample(remaining[domain], n_per_domain)
            picked.extend(chosen)
            for idx in chosen:
                remaining[domain].remove(idx)
            if len(remaining[domain]) < n_per_domain:
                exhausted = True
    return picked


class _DomainBatches(Sampler):
    """Batches of `batch_size // n_domain` images from each of `n_domain` domains; `_batch_domains()` picks
    which domains a batch takes."""

    def __init__(self, data_source, batch_size: int, domain_dict: dict, domains: list, n_domain: int):
        self.data_source = data_source
        self.domain_dict = domain_dict
        self.domains = domains
        assert batch_size % n_domain == 0
        self.n_img_per_domain = batch_size // n_domain
        self.batch_size = batch_size
        self.n_domain = n_domain
        # Dassl sizes the epoch by drawing one (this consumes `random`, as Dassl's does).
        self.length = len(list(self.__iter__()))

    def _batch_domains(self) -> list:
        raise NotImplementedError

    def __iter__(self):
        return iter(_draw_domain_batches(self.domain_dict, self._batch_domains, self.n_img_per_domain))

    def __len__(self) -> int:
        return self.length


class RandomDomainSampler(_DomainBatches):
    """Batches of `n_domain` random domains with `batch_size // n_domain` images each (n_domain <= 0: all)."""

    def __init__(self, data_source, batch_size: int, n_domain: int):
        domain_dict = _indices_by(data_source, "domain")
        domains = list(domain_dict.keys())
        if n_domain is None or n_domain <= 0:
            n_domain = len(domains)
        super().__init__(data_source, batch_size, domain_dict, domains, n_domain)

    def _batch_domains(self) -> list:
        return random.sample(self.domains, self.n_domain)


class SeqDomainSampler(_DomainBatches):
    """Batches with `batch_size // n_domains` random images of every domain, domains in sorted order."""

    def __init__(self, data_source, batch_size: int):
        domain_dict = _indices_by(data_source, "domain")
        domains = sorted(domain_dict.keys())
        super().__init__(data_source, batch_size, domain_dict, domains, len(domains))

    def _batch_domains(self) -> list:
        return self.domains


class RandomClassSampler(Sampler):
    """Batches of `batch_size // n_ins` random classes with `n_ins` images each.

    A class with fewer than `n_ins` images is filled up with repeats (numpy's global RNG, as in Dassl);
    an epoch ends when fewer classes than a batch needs have unused groups of `n_ins` left.
    """

    def __init__(self, data_source, batch_size: int, n_ins: int):
        if batch_size < n_ins:
            raise ValueError(f"batch_size={batch_size} must be no less than n_ins={n_ins}")
        self.data_source = data_source
        self.batch_size = batch_size
        self.n_ins = n_ins
        self.ncls_per_batch = batch_size // n_ins
        self.index_dic = _indices_by(data_source, "label")
        self.labels = list(self.index_dic.keys())
        assert len(self.labels) >= self.ncls_per_batch
        self.length = len(list(self.__iter__()))

    def _groups_per_label(self) -> dict:
        groups = defaultdict(list)
        for label in self.labels:
            idxs = copy.deepcopy(self.index_dic[label])
            if len(idxs) < self.n_ins:
                idxs = np.random.choice(idxs, size=self.n_ins, replace=True)
            random.shuffle(idxs)
            full = len(idxs) // self.n_ins * self.n_ins
            groups[label] = [list(idxs[i:i + self.n_ins]) for i in range(0, full, self.n_ins)]
        return groups

    def __iter__(self):
        groups = self._groups_per_label()
        available = list(self.labels)
        picked: list[int] = []
        while len(available) >= self.ncls_per_batch:
            for label in random.sample(available, self.ncls_per_batch):
                picked.extend(groups[label].pop(0))
                if not groups[label]:
                    available.remove(label)
        return iter(picked)

    def __len__(self) -> int:
        return self.length


def build_sampler(
    sampler_type: str, cfg=None, data_source=None, batch_size: int = 32, n_domain: int = 0, n_ins: int = 16
) -> Sampler:
    if sampler_type == "RandomSampler":
        return RandomSampler(data_source)
    if sampler_type == "SequentialSampler":
        return SequentialSampler(data_source)
    if sampler_type == "RandomDomainSampler":
        return RandomDomainSampler(data_source, batch_size, n_domain)
    if sampler_type == "SeqDomainSampler":
        return SeqDomainSampler(data_source, batch_size)
    if sampler_type == "RandomClassSampler":
        return RandomClassSampler(data_source, batch_size, n_ins)
    raise InvalidValue(f"Unknown sampler type: {sampler_type} (DATALOADER.*.SAMPLER: use RandomSampler, "
                       "SequentialSampler, RandomDomainSampler, SeqDomainSampler or RandomClassSampler)")

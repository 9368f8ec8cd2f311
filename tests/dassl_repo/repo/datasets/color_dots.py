"""Flat-colour images, one folder per class; CoOp's flow: fixed split, few-shot cache, base/new classes."""
import os
import pickle

from dassl.data.datasets import DATASET_REGISTRY, DatasetBase, Datum
from dassl.utils import listdir_nohidden, mkdir_if_missing

N_TRAIN, N_VAL = 4, 2  # per class, in file order; the rest is test


def subsample_classes(*splits, subsample="all"):
    """base: the first half of the labels; new: the second half, relabelled from 0."""
    if subsample == "all":
        return splits
    labels = sorted({item.label for item in splits[0]})
    half = (len(labels) + 1) // 2
    kept = labels[:half] if subsample == "base" else labels[half:]
    relabel = {label: i for i, label in enumerate(kept)}
    print(f"SUBSAMPLE {subsample.upper()} CLASSES!")
    return tuple(
        [Datum(impath=d.impath, label=relabel[d.label], classname=d.classname) for d in split if d.label in relabel]
        for split in splits
    )


@DATASET_REGISTRY.register()
class ColorDots(DatasetBase):
    dataset_dir = "color_dots"

    def __init__(self, cfg):
        root = os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT))
        self.dataset_dir = os.path.join(root, self.dataset_dir)
        self.image_dir = os.path.join(self.dataset_dir, "images")
        self.split_fewshot_dir = os.path.join(self.dataset_dir, "split_fewshot")
        mkdir_if_missing(self.split_fewshot_dir)
        train, val, test = self.read_split()

        num_shots = cfg.DATASET.NUM_SHOTS
        if num_shots >= 1:
            cache = os.path.join(self.split_fewshot_dir, f"shot_{num_shots}-seed_{cfg.SEED}.pkl")
            if os.path.exists(cache):
                print(f"Loading preprocessed few-shot data from {cache}")
                with open(cache, "rb") as f:
                    data = pickle.load(f)
                train, val = data["train"], data["val"]
            else:
                train = self.generate_fewshot_dataset(train, num_shots=num_shots)
                val = self.generate_fewshot_dataset(val, num_shots=min(num_shots, 4))
                print(f"Saving preprocessed few-shot data to {cache}")
                with open(cache, "wb") as f:
                    pickle.dump({"train": train, "val": val}, f, protocol=pickle.HIGHEST_PROTOCOL)

        train, val, test = subsample_classes(train, val, test, subsample=cfg.DATASET.SUBSAMPLE_CLASSES)
        super().__init__(train_x=train, val=val, test=test)

    def read_split(self):
        train, val, test = [], [], []
        for label, classname in enumerate(listdir_nohidden(self.image_dir, sort=True)):
            folder = os.path.join(self.image_dir, classname)
            for i, name in enumerate(listdir_nohidden(folder, sort=True)):
                item = Datum(impath=os.path.join(folder, name), label=label, classname=classname)
                (train if i < N_TRAIN else val if i < N_TRAIN + N_VAL else test).append(item)
        return train, val, test

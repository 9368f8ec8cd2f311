"""ILSVRC-2012 as its loader reads it: `train/<wnid>/` from the tar of per-class tars, and the flat val
images sorted into the same `val/<wnid>/` folders.

The val labels come from the devkit (`ILSVRC2012_devkit_t12.tar.gz`, published with the images):
`data/ILSVRC2012_validation_ground_truth.txt` gives the ILSVRC2012_ID of val image i on line i, and
`data/meta.mat` maps each ID of the 1,000 leaf synsets to its wnid. Both archives are read as streams, so
nothing but the images is written.
"""
from __future__ import annotations

import io
import os
import re
import tarfile

from .unpack import DamagedArchive, open_with_progress, tar_members

DEVKIT = "ILSVRC2012_devkit_t12.tar.gz"
_VAL_NAME = re.compile(r"ILSVRC2012_val_(\d+)\.JPEG$")


def unpack_train(archive: str, stage: str, files: dict[str, str]) -> int:
    """`n01440764.tar`, ... inside `archive` become `stage/train/n01440764/`, ...; the bytes written."""
    written = 0
    with open_with_progress(archive, "Extracting ImageNet train") as f, tarfile.open(fileobj=f, mode="r|*") as outer:
        for member in outer:
            name = os.path.basename(member.name)
            if not (member.isfile() and name.endswith(".tar")):
                continue
            class_dir = os.path.join(stage, "train", name[: -len(".tar")])
            with tarfile.open(fileobj=outer.extractfile(member), mode="r|*") as inner:
                written += tar_members(inner, class_dir, rename=os.path.basename)
    if not written:
        raise DamagedArchive(f"{archive} holds no per-class tar files: it is not ILSVRC2012_img_train.tar.", archive)
    return written


def unpack_val(archive: str, stage: str, files: dict[str, str]) -> int:
    """The flat val images of `archive` into `stage/val/<wnid>/`, with the labels of the devkit."""
    wnid_of_image = val_wnids(files[DEVKIT])
    unknown = []

    def class_path(name: str) -> str | None:
        match = _VAL_NAME.search(os.path.basename(name))
        if not match:
            return None
        wnid = wnid_of_image.get(int(match.group(1)))
        if wnid is None:
            unknown.append(name)
            return None
        return f"{wnid}/{os.path.basename(name)}"

    with open_with_progress(archive, "Extracting ImageNet val") as f, tarfile.open(fileobj=f, mode="r|*") as tar:
        written = tar_members(tar, os.path.join(stage, "val"), rename=class_path)
    if unknown or not written:
        raise DamagedArchive(
            f"{archive}: {len(unknown)} val images have no label in {DEVKIT} (e.g. {unknown[:3]})." if unknown
            else f"{archive} holds no ILSVRC2012_val_*.JPEG image: it is not ILSVRC2012_img_val.tar.", archive
        )
    return written


def val_wnids(devkit: str) -> dict[int, str]:
    """{val image number (1-based): wnid} from the devkit archive."""
    from scipy.io import loadmat

    wanted = {"meta.mat": None, "ILSVRC2012_validation_ground_truth.txt": None}
    with tarfile.open(devkit, mode="r:*") as tar:
        for member in tar:
            name = os.path.basename(member.name)
            if member.isfile() and name in wanted and os.path.basename(os.path.dirname(member.name)) == "data":
                wanted[name] = tar.extractfile(member).read()
    absent = [name for name, data in wanted.items() if data is None]
    if absent:
        raise DamagedArchive(f"{devkit} lacks data/{', data/'.join(absent)}: it is not the ILSVRC2012 devkit.", devkit)
    synsets = loadmat(io.BytesIO(wanted["meta.mat"]), squeeze_me=True)["synsets"]
    # The 1,000 classes are the leaves (no children); their ILSVRC2012_ID is 1..1000.
    wnid_of_id = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
    ids = [int(line) for line in wanted["ILSVRC2012_validation_ground_truth.txt"].decode("ascii").split()]
    try:
        return {i: wnid_of_id[class_id] for i, class_id in enumerate(ids, start=1)}
    except KeyError as e:
        raise DamagedArchive(f"{devkit}: the val ground truth names class {e.args[0]}, which meta.mat lacks.",
                             devkit) from None


UNPACKERS = {"imagenet_train": unpack_train, "imagenet_val": unpack_val}

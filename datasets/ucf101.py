"""UCF101 as still images: the middle frame of every clip; actions renamed `ApplyEyeMakeup` -> `Apply_Eye_Makeup`."""
from __future__ import annotations

import os
import re

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.errors import CorruptDatasetFile
from ._shared.listing import make_datum
from ._shared.published_files import PublishedFile
from ._shared.random_splits import split_trainval
from ._shared.readers import text_lines


@DATASET_REGISTRY.register()
class UCF101(SplitDataset):
    dataset_dir = "ucf101"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a photo of a person doing {}."
    image_subdir = "UCF-101-midframes"
    split_file = "split_zhou_UCF101.json"
    split_file_id = "1I0S0q91hJfsV9Gf4xDIjgDq4AqBNJb1y"  # the CoOp authors' file on Google Drive
    required = ("UCF-101-midframes",)
    native_files = (
        "ucfTrainTestlist/classInd.txt", "ucfTrainTestlist/trainlist01.txt", "ucfTrainTestlist/testlist01.txt"
    )
    published_files = (
        # the CoOp authors' middle frames (no published checksum)
        PublishedFile(
            "UCF-101-midframes.zip", drive_id="10Jqome3vtUA2keJkNanAiFpgbyC9Hc2O",
            take={"UCF-101-midframes": "UCF-101-midframes"},
        ),
        PublishedFile(  # the official lists; size and SHA-256 as TensorFlow Datasets publishes them
            "UCF101TrainTestSplits-RecognitionTask.zip",
            url="https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip",
            size=113943, sha256="5c0d1a53b8ed364a2ac830a73f405e51bece7d98ce1254fd19ed4a36b224bd27",
            take={"ucfTrainTestlist": "ucfTrainTestlist"}, native_only=True,
        ),
    )

    def read_native(self):
        path = os.path.join(self.dataset_dir, "ucfTrainTestlist", "classInd.txt")
        cname2lab = {}
        for _, line in text_lines(path):
            label, action = line.split(" ")
            cname2lab[action] = int(label) - 1
        train, val = split_trainval(self.read_data(cname2lab, "trainlist01.txt"))
        return train, val, self.read_data(cname2lab, "testlist01.txt")

    def read_data(self, cname2lab: dict, text_file: str) -> list:
        """Lines `Action/v_Action_gXX_cYY.avi [label]`; the frame is `<Renamed_Action>/v_..._cYY.jpg`."""
        path = os.path.join(self.dataset_dir, "ucfTrainTestlist", text_file)
        items = []
        for lineno, line in text_lines(path):
            action, filename = line.split(" ")[0].split("/")
            if action not in cname2lab:
                raise CorruptDatasetFile(f"{path}:{lineno}: action {action!r} is not in classInd.txt")
            renamed = "_".join(re.findall("[A-Z][^A-Z]*", action))
            impath = os.path.join(self.image_dir, renamed, filename.replace(".avi", ".jpg"))
            items.append(make_datum(impath, cname2lab[action], renamed))
        return items

"""EuroSAT (RGB): one folder per land-use class under `2750/`, renamed to descriptive class names."""
from __future__ import annotations

from clipfit.compat import DATASET_REGISTRY

from ._shared.base import SplitDataset
from ._shared.published_files import PublishedFile
from ._shared.random_splits import read_and_split_data

NEW_CNAMES = {
    "AnnualCrop": "Annual Crop Land",
    "Forest": "Forest",
    "HerbaceousVegetation": "Herbaceous Vegetation Land",
    "Highway": "Highway or Road",
    "Industrial": "Industrial Buildings",
    "Pasture": "Pasture Land",
    "PermanentCrop": "Permanent Crop Land",
    "Residential": "Residential Buildings",
    "River": "River",
    "SeaLake": "Sea or Lake",
}


@DATASET_REGISTRY.register()
class EuroSAT(SplitDataset):
    dataset_dir = "eurosat"
    benchmarks = ("base2new", "few_shot", "xd_target")
    template = "a centered satellite photo of {}."
    image_subdir = "2750"
    split_file = "split_zhou_EuroSAT.json"
    split_file_id = "1Ip7yaCWFi0eaOFUGga0lUdVi_DDQth1o"  # the CoOp authors' file on Google Drive
    required = ("2750",)
    published_files = (  # the RGB release as torchvision fetches it (the DFKI link is often down), its MD5
        PublishedFile(
            "EuroSAT.zip",
            url="https://huggingface.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/"
                "EuroSAT.zip",
            md5="c8fa014336c82ac7804f0398fcb19387", take={"2750": "2750"},
        ),
    )

    def read_native(self):
        return read_and_split_data(self.image_dir, new_cnames=NEW_CNAMES)

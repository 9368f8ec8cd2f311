"""`DatasetWrapper`: Dassl's per-item reader (image, transforms, batch dict), reading the decoded set when set."""
from __future__ import annotations

from torch.utils.data import Dataset as TorchDataset
from torchvision.transforms import Compose, Normalize, Resize, ToTensor

from ..utils.images import read_image
from .transforms import INTERPOLATION_MODES


class DatasetWrapper(TorchDataset):
    """Reads an image per `Datum` and applies the transform(s); returns Dassl's batch dict."""

    def __init__(self, cfg, data_source, transform=None, is_train: bool = False):
        self.cfg = cfg
        self.data_source = data_source
        self.transform = transform
        self.is_train = is_train
        self.k_tfm = cfg.DATALOADER.K_TRANSFORMS if is_train else 1
        self.return_img0 = cfg.DATALOADER.RETURN_IMG0
        if self.k_tfm > 1 and transform is None:
            raise ValueError(f"Cannot augment the image {self.k_tfm} times because transform is None")
        to_tensor = [Resize(cfg.INPUT.SIZE, interpolation=INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]), ToTensor()]
        if "normalize" in cfg.INPUT.TRANSFORMS:
            to_tensor.append(Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD))
        self.to_tensor = Compose(to_tensor)

    def __len__(self) -> int:
        return len(self.data_source)

    # Set by the train loader: the decoded training set (`DecodedImages`) to read instead of the files (the
    # same pixels). Copies of the wrapper share it (see DecodedImages.__deepcopy__).
    decoded = None

    def read(self, impath: str):
        if self.decoded is not None and impath in self.decoded:
            return self.decoded.pil(impath)
        return read_image(impath, self.cfg.DATASET.NAME)

    def __getitem__(self, idx: int) -> dict:
        item = self.data_source[idx]
        output = item_fields(item, idx)
        img0 = self.read(item.impath)
        if self.transform is not None:
            if isinstance(self.transform, (list, tuple)):
                for i, tfm in enumerate(self.transform):
                    keyname = "img" if i == 0 else f"img{i + 1}"
                    output[keyname] = self._transform_image(tfm, img0)
            else:
                output["img"] = self._transform_image(self.transform, img0)
        else:
            output["img"] = img0
        if self.return_img0:
            output["img0"] = self.to_tensor(img0)
        return output

    def _transform_image(self, tfm, img0):
        images = [tfm(img0) for _ in range(self.k_tfm)]
        return images[0] if len(images) == 1 else images


def item_fields(item, idx: int) -> dict:
    """The batch dict of one item without its image(s)."""
    return {"label": item.label, "domain": item.domain, "impath": item.impath, "index": idx}

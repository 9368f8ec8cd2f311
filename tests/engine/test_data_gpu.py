"""CUDA paths of the data pipeline (skipped without a GPU): the same batches as on the CPU."""
import pytest
import torch

from clipfit.engine.config_defaults import get_cfg_default
from clipfit.engine.data.device_batches import ToFloatNormalized
from clipfit.engine.data.gpu_augment import GpuAugment

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
MEAN, STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]


def test_normalising_on_the_gpu_matches_the_cpu():
    images = torch.randint(0, 256, (8, 224, 224, 3), dtype=torch.uint8)
    cpu = ToFloatNormalized(torch.device("cpu"), MEAN, STD)(images)
    gpu = ToFloatNormalized(torch.device("cuda"), MEAN, STD)(images)
    assert gpu.device.type == "cuda"
    # IEEE division and subtraction are correctly rounded on both; allow the last bit for fused kernels.
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)


def test_gpu_augment_on_the_gpu_matches_the_cpu_for_the_same_seed():
    cfg = get_cfg_default()
    cfg.INPUT.TRANSFORMS = ["random_resized_crop", "random_flip", "normalize"]
    cfg.INPUT.INTERPOLATION = "bicubic"
    images = [torch.randint(0, 256, (h, w, 3), dtype=torch.uint8) for h, w in [(375, 500), (500, 375)] * 4]
    torch.manual_seed(0)
    cpu = GpuAugment(cfg, torch.device("cpu"))(images)
    torch.manual_seed(0)
    gpu = GpuAugment(cfg, torch.device("cuda"))(images)
    # The crop parameters come from the CPU generator on both; the bicubic kernels may round differently.
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)


class _UInt8Batches:
    """One batch of uint8 images, as the engine's loaders hand them to DeviceLoader."""

    dataset = None

    def __init__(self):
        torch.manual_seed(0)
        self.images = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8)

    def __len__(self):
        return 1

    def __iter__(self):
        return iter([{"img": self.images.clone(), "label": torch.tensor([0, 1])}])


def test_device_loaders_on_the_gpu_copy_and_pickle_and_pass_dassls_float_batches_through():
    import copy
    import pickle

    from clipfit.engine.data.device_batches import DeviceLoader

    source = _UInt8Batches()
    loader = DeviceLoader(source, ToFloatNormalized(torch.device("cuda"), MEAN, STD))
    expected = ToFloatNormalized(torch.device("cpu"), MEAN, STD)(source.images)
    for other in (loader, copy.deepcopy(loader), pickle.loads(pickle.dumps(loader))):
        (batch,) = list(other)
        assert batch["img"].device.type == "cuda"
        torch.testing.assert_close(batch["img"].cpu(), expected, atol=1e-6, rtol=0)
    floats = torch.rand(2, 3, 8, 8)
    assert loader.convert(floats) is floats

"""The data path: images/s of today's loaders and of the cached ones, and a run's fixed cost.

On a synthetic OxfordPets folder of photo-like 500x375 JPEGs (quality 90, written by the fixture builder
`clipfit.testing.fixtures`), with CoOp's transforms (random resized crop, flip, normalisation, bicubic,
CLIP's mean/std), every case runs in the same process, one epoch untimed, then `--repeats` timed epochs:

* train / `pil`: today's loader (decode every JPEG every epoch, PIL augmentation in the workers);
* train / `decoded`: DATALOADER.CACHE_TRAIN (decoded once; the same PIL augmentation per sample);
* train / `gpu_augment`: INPUT.GPU_AUGMENT (the loader only gathers the uint8 images; the crop, flip and
  normalisation run on --device), with `loader_ms_per_image` (the CPU part) and `augment_ms_per_image`;
* eval / `pil`: today's test loader (decode, resize, crop, ToTensor, Normalize);
* eval / `cache`: DATALOADER.CACHE_EVAL (the memory-mapped uint8 crops, normalised on --device);
* `startup`: a fresh process from its launch to the end of its first training step (imports, environment
  report, data, CLIP build with random weights), seconds since launch at the end of each phase, and
  what a script step used to pay on top: the runner's own interpreter, which imported everything before
  starting train.py as a second process (the runner now runs train.py's main in its own process).

Each record holds the median over the timed epochs; ratio records compare the variants of one worker count.

    python benchmarks/bench_data.py --device cpu > data.jsonl
    python benchmarks/bench_data.py --device cuda --workers 0,8,16
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _prologue  # noqa: E402  (the checkout importable)
import _timing  # noqa: E402

REPO = _prologue.REPO

from clipfit.engine.config_defaults import get_cfg_default  # noqa: E402
from clipfit.engine.data.base_dataset import Datum  # noqa: E402
from clipfit.engine.data.eval_cache import EvalCache, ForeignCacheFiles, split_test_transform  # noqa: E402
from clipfit.engine.data.loaders import build_data_loader, build_train_loader, cached_eval_loader  # noqa: E402
from clipfit.engine.data.transforms import build_transform  # noqa: E402
from clipfit.testing.fixtures import DATASET_DIRS, make_dataset_fixture, photo_jpeg_bytes  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
BREEDS = ("Abyssinian", "american_bulldog", "Egyptian_Mau")


def make_images(root: str, count: int, size=(500, 375), quality: int = 90) -> list[Datum]:
    """OxfordPets' layout (the fixture) plus `count` more images named as its own, one class per breed."""
    dataset_dir = make_dataset_fixture(root, "OxfordPets", photo_size=size, quality=quality)
    assert dataset_dir.endswith(DATASET_DIRS["OxfordPets"])
    items = []
    for i in range(count):
        label = i % len(BREEDS)
        path = os.path.join(dataset_dir, "images", f"{BREEDS[label]}_{100 + i}.jpg")
        with open(path, "wb") as f:
            f.write(photo_jpeg_bytes((200, 80 + 40 * label, 60), 1000 + i, size, quality))
        items.append(Datum(path, label, 0, BREEDS[label].lower()))
    return items


def coop_cfg(workers: int, batch: int, device: torch.device, cache_train: bool = False, gpu_augment: bool = False):
    cfg = get_cfg_default()
    cfg.INPUT.TRANSFORMS = ["random_resized_crop", "random_flip", "normalize"]
    cfg.INPUT.INTERPOLATION = "bicubic"
    cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD = CLIP_MEAN, CLIP_STD
    cfg.INPUT.GPU_AUGMENT = gpu_augment
    cfg.DATALOADER.CACHE_TRAIN = cache_train
    cfg.DATALOADER.NUM_WORKERS = workers
    cfg.USE_CUDA = device.type == "cuda"
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = cfg.DATALOADER.TEST.BATCH_SIZE = batch
    return cfg


def one_epoch(loader, device: torch.device) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    _timing.sync(device)  # a GPU has finished the device-side work of the last batch
    return time.perf_counter() - start


def interleaved(loaders: dict, warmup: int, repeats: int, device: torch.device) -> dict[str, list[float]]:
    """Epoch seconds per variant, the variants taking turns, so that load from other processes on the
    machine hits them alike."""
    times = {name: [] for name in loaders}
    for k in range(warmup + repeats):
        for name, loader in loaders.items():
            seconds = one_epoch(loader, device)
            if k >= warmup:
                times[name].append(seconds)
    return times


def record(case: str, variant: str, workers: int, images: int, times: list[float], device, **extra) -> dict:
    median = statistics.median(times)
    return {"case": case, "variant": variant, "workers": workers, "images": images, "device": _timing.device_name(
        device), "median_s": round(median, 4), "images_per_s": round(images / median, 1),
        "ms_per_image": round(1000 * median / images, 3), "repeats": len(times), **extra}


def train_cases(items, workers: int, batch: int, device, warmup: int, repeats: int) -> list[dict]:
    """Today's loader (`pil`), the decoded set (`decoded`), and GPU_AUGMENT (and its gather alone)."""
    today = coop_cfg(workers, batch, device)
    tfm = build_transform(today, is_train=True)
    decoded_cfg = coop_cfg(workers, batch, device, cache_train=True)
    gpu_cfg = coop_cfg(workers, batch, device, cache_train=True, gpu_augment=True)
    loaders = {
        "pil": build_train_loader(today, items, tfm, device),
        "decoded": build_train_loader(decoded_cfg, items, tfm, device),
        "gpu_augment": build_train_loader(gpu_cfg, items, tfm, device),
    }
    loaders["gather"] = loaders["gpu_augment"].loader  # the same loader without the device augmentation
    times = interleaved(loaders, warmup, repeats, device)
    n = len(items) // batch * batch  # drop_last
    gather_ms = 1000 * statistics.median(times["gather"]) / n
    out = [
        record("train", "pil", workers, n, times["pil"], device),
        record("train", "decoded", workers, n, times["decoded"], device),
        record("train", "gpu_augment", workers, n, times["gpu_augment"], device,
               loader_ms_per_image=round(gather_ms, 3),
               augment_ms_per_image=round(1000 * statistics.median(times["gpu_augment"]) / n - gather_ms, 3)),
    ]
    base = out[0]["images_per_s"]
    out.append({"case": "train_ratio", "workers": workers, "decoded_vs_pil": round(out[1]["images_per_s"] / base, 2),
                "gpu_augment_vs_pil": round(out[2]["images_per_s"] / base, 2), "target_decoded_vs_pil": 1.5})
    return out


def eval_cases(items, workers: int, batch: int, device, warmup: int, repeats: int, cache_dir: str) -> list[dict]:
    """Today's test loader (`pil`) and the evaluation cache (`cache`, built first, its time reported)."""
    cfg = coop_cfg(workers, batch, device)
    tfm = build_transform(cfg, is_train=False)
    pil_part = split_test_transform(tfm)[0]
    os.makedirs(cache_dir, exist_ok=True)
    files = ForeignCacheFiles(SimpleNamespace(dataset_dir=cache_dir), [d.impath for d in items])
    start = time.perf_counter()
    cache = EvalCache.open(files, "test", items, pil_part, workers)
    build_s = time.perf_counter() - start
    cached = cached_eval_loader(cfg, cache, items, cfg.DATALOADER.TEST, tfm, device, "test")
    loaders = {"pil": build_data_loader(cfg, "SequentialSampler", items, batch, tfm=tfm, is_train=False),
               "cache": cached}
    times = interleaved(loaders, warmup, repeats, device)
    out = [record("eval", "pil", workers, len(items), times["pil"], device),
           record("eval", "cache", workers, len(items), times["cache"], device,
                  cache_mib=round(cache.nbytes / 2**20, 1), cache_build_s=round(build_s, 2))]
    out.append({"case": "eval_ratio", "workers": workers,
                "cache_vs_pil": round(out[1]["images_per_s"] / out[0]["images_per_s"], 1), "target_cache_vs_pil": 10})
    return out


STARTUP_PHASES = ("import_torch", "import_open_clip", "import_plugins", "env_report", "build_trainer", "first_step")


def startup_case(backbone: str, repeats: int, device: torch.device) -> list[dict]:
    from clipfit.testing.demo import make_demo_dataset

    with tempfile.TemporaryDirectory(prefix="clipfit-bench-startup-") as root:
        make_demo_dataset(root)
        runs, runner = _startup_runs(backbone, repeats, root)
    phases = {k: round(statistics.median(r[k] for r in runs), 2) for k in ("interpreter", *STARTUP_PHASES)}
    return [{"case": "startup", "backbone": backbone, "device": "cpu", "seconds_since_launch": phases,
             "process_start_to_first_step_s": phases["first_step"],
             "removed_runner_process_s": round(statistics.median(runner), 2), "repeats": repeats}]


def _startup_runs(backbone: str, repeats: int, root: str) -> tuple[list[dict], list[float]]:
    """Per repeat: the child's phase marks, and the seconds of a runner-process start."""
    runs, runner = [], []
    for _ in range(repeats):
        launched = time.time()
        proc = subprocess.run([sys.executable, str(Path(__file__).with_name("_startup.py")), str(launched), backbone,
                               root], capture_output=True, text=True, env=_prologue.child_env(), cwd=str(REPO))
        line = next((x for x in proc.stdout.splitlines() if x.startswith("STARTUP ")), None)
        if line is None:
            raise RuntimeError(f"the startup child failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        runs.append(json.loads(line[len("STARTUP "):]))
        # What each script step paid before train.py ran in the runner's process: a whole interpreter
        # importing the runner and the trainer catalog, then exiting.
        start = time.time()
        subprocess.run([sys.executable, "-c", "from clipfit.app import runner, trainers_catalog; "
                        "trainers_catalog.catalog()"], check=True, env=_prologue.child_env(), cwd=str(REPO))
        runner.append(time.time() - start)
    return runs, runner


def emit(r: dict, records: list[dict], out) -> None:
    print(json.dumps(r), file=out, flush=True)
    records.append(r)


def parse_workers(text: str) -> list[int]:
    """--workers: comma-separated counts, `cores` (or `max`) for this machine's core count."""
    cores = os.cpu_count() or 1
    values = []
    for w in text.split(","):
        w = w.strip()
        if w in ("cores", "max"):
            values.append(cores)
        elif w.isdigit():
            values.append(int(w))
        else:
            raise argparse.ArgumentTypeError(f"{w!r} is not a worker count; give comma-separated whole numbers "
                                             "or `cores`, e.g. 0,2,cores")
    return list(dict.fromkeys(values))


def main(argv: list[str] | None = None) -> list[dict]:
    parser = _prologue.new_parser(__doc__)
    _timing.add_device_arg(parser)
    parser.add_argument("--workers", type=parse_workers, default="0,2,cores",
                        help="comma-separated worker counts (`cores`: all)")
    parser.add_argument("--train-images", type=int, default=256)
    parser.add_argument("--eval-images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per case (the median is reported)")
    parser.add_argument("--cases", type=_timing.cases_type(("train", "eval", "startup")), default="train,eval,startup",
                        help="comma-separated: train, eval, startup")
    parser.add_argument("--backbone", default="ViT-B/16", help="startup: the CLIP built (random weights)")
    parser.add_argument("--quick", action="store_true", help="a few images, one epoch, tiny CLIP: a smoke run")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    # As in the loader workers (and a fair share of a machine others use): one thread per process.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(args, device)
    finally:
        torch.set_num_threads(threads)


def _run(args, device: torch.device) -> list[dict]:
    if args.quick:
        args.train_images, args.eval_images, args.batch, args.repeats = 8, 8, 4, 1
        args.backbone = "tiny"
    warmup = 0 if args.quick else 1
    cases = set(args.cases)
    records: list[dict] = []
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="clipfit-bench-data-") as root, contextlib.redirect_stdout(sys.stderr):
        # The loaders' own lines (transforms, cache notices) go to stderr; stdout holds only the JSON.
        items = make_images(root, max(args.train_images, args.eval_images))
        for workers in args.workers:
            if "train" in cases:
                for r in train_cases(items[:args.train_images], workers, args.batch, device, warmup, args.repeats):
                    emit(r, records, out)
            if "eval" in cases:
                cache_dir = os.path.join(root, f"eval-cache-{workers}")
                for r in eval_cases(items[:args.eval_images], workers, args.batch, device, warmup, args.repeats,
                                    cache_dir):
                    emit(r, records, out)
        if "startup" in cases:
            for r in startup_case(args.backbone, args.repeats, device):
                emit(r, records, out)
    return records


if __name__ == "__main__":
    main()

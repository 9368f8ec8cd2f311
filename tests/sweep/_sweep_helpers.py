"""Shared by the sweep tests: the tiny-backbone options and a small base-to-new grid on the demo data."""

TINY = ["MODEL.BACKBONE.NAME", "tiny", "OPTIM.MAX_EPOCH", "1", "OPTIM.WARMUP_EPOCH", "0", "DATALOADER.NUM_WORKERS",
        "0"]


def tiny_grid(data, output, *trainers, seeds=("1",)):
    """`clipfit sweep` arguments: base-to-new on the demo data, tiny backbone, 1 epoch, 2 shots."""
    return ["--trainers", *trainers, "--protocols", "base2new", "--datasets", "demo_shapes", "--seeds", *seeds,
            "--shots", "2", "--data", data, "--output", output, "--opts", *TINY]

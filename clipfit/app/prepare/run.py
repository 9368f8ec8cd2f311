"""`clipfit data prepare` for a list of datasets: one after the other, then a table and the clean-up of the
downloads that ready datasets no longer need."""
from __future__ import annotations

import os

from ...errors import UserInputError
from . import DOWNLOADS_DIR
from .dataset import Outcome, prepare_dataset, published_files
from .fetch import Sources, human_size


def parse_names(values: list[str] | None) -> list[str] | None:
    """`--datasets` values, comma- or space-separated; None (the 15 benchmark datasets) for none or `all`."""
    names = [n for value in values or () for n in value.split(",") if n.strip()]
    names = [n.strip() for n in names]
    return None if not names or names == ["all"] else names


def check_options(root: str, from_dir: str | None, url_template: str | None) -> None:
    if from_dir is not None and not os.path.isdir(from_dir):
        raise UserInputError(f"--from {from_dir}: no such folder (it should hold the downloaded archives)")
    if url_template is not None:
        try:
            example = url_template.format(name="images.tar.gz", id="")
        except (KeyError, IndexError, ValueError) as e:
            raise UserInputError(f"--url-template {url_template!r}: only {{name}} and {{id}} can be filled in ({e})")
        if example == url_template.format(name="other.zip", id=""):
            raise UserInputError(f"--url-template {url_template!r} must contain {{name}} (the file name)")
    if os.path.exists(root) and not os.path.isdir(root):
        raise UserInputError(f"--root {root} is a file, not a folder")


def prepare(root: str, names: list[str] | None = None, from_dir: str | None = None, url_template: str | None = None,
            keep_archives: bool = False, verify: bool = True) -> list[Outcome]:
    """Prepare the datasets `names` (registered names or config stems; None: the 15 benchmark ones)."""
    from ..data_check import selected_datasets

    root = os.path.abspath(os.path.expanduser(root))
    from_dir = os.path.abspath(os.path.expanduser(from_dir)) if from_dir else None
    check_options(root, from_dir, url_template)
    classes = selected_datasets(names)
    os.makedirs(root, exist_ok=True)
    sources = Sources(os.path.join(root, DOWNLOADS_DIR), from_dir, url_template, verify)
    outcomes = []
    for i, (name, cls) in enumerate(classes.items(), start=1):
        print(f"[{i}/{len(classes)}] {name} -> {os.path.join(root, cls.dataset_dir)}/", flush=True)
        outcomes.append(prepare_dataset(cls, root, sources))
        print()
    if not keep_archives:
        remove_used_downloads(sources.downloads, classes, outcomes)
    return outcomes


def remove_used_downloads(downloads: str, classes: dict, outcomes: list[Outcome]) -> None:
    """Delete the downloaded files of which every dataset that uses them is ready (unfinished `.part` files
    and the files of datasets still to finish stay, so the next run resumes)."""
    from ..data_check import READY

    ready: dict[str, bool] = {}
    for cls, outcome in zip(classes.values(), outcomes):
        for spec in published_files(cls):
            ready[spec.name] = ready.get(spec.name, True) and outcome.status == READY
    removed = 0
    for name, done in ready.items():
        path = os.path.join(downloads, name)
        if done and os.path.isfile(path):
            removed += os.path.getsize(path)
            os.remove(path)
    if removed:
        print(f"Removed the downloaded archives of the ready datasets ({human_size(removed)}); --keep-archives "
              "keeps them.")
    if os.path.isdir(downloads) and not os.listdir(downloads):
        os.rmdir(downloads)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def format_outcomes(outcomes: list[Outcome]) -> str:
    from tabulate import tabulate

    rows = [[o.name, o.status, "-" if o.images is None else f"{o.images:,}", human_size(o.size), _duration(o.seconds),
             "; ".join(o.notes)] for o in outcomes]
    return tabulate(rows, headers=["Dataset", "Status", "Images", "Size", "Time", "Notes"], disable_numparse=True)


def all_done(outcomes: list[Outcome]) -> bool:
    """Every dataset ready, with its official split file where it has one."""
    from ..data_check import READY

    return all(o.status == READY and o.split != "absent" for o in outcomes)


def summary(outcomes: list[Outcome], root: str) -> str:
    from ..data_check import READY

    ready = sum(o.status == READY for o in outcomes)
    lines = [f"{ready} of {len(outcomes)} datasets ready under {root}."]
    no_split = [o.name for o in outcomes if o.status == READY and o.split == "absent"]
    if no_split:
        lines.append(f"The official split file of {', '.join(no_split)} could not be downloaded: without it a random "
                     "split is made and results are not comparable with published ones. Run the same command again "
                     "later (Google Drive limits downloads) or see DATASETS.md.")
    if ready < len(outcomes):
        lines.append("Run the same command again after fixing what the notes say: finished steps are skipped and "
                     "interrupted downloads resume. DATASETS.md describes each dataset's files.")
    return "\n".join(lines)

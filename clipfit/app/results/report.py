"""The leaderboard of an output root: `build_report(root)` reads every run, `Report.write(dir)` writes it."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...errors import UserInputError
from .base2new import Base2NewTable, build_base2new
from .few_shot import FewShotTable, build_few_shot
from .logs import DEFAULT_KEYWORD
from .runs import UNKNOWN, Run, discover_runs, relative_to
from .tables import (
    base2new_csv,
    base2new_markdown,
    few_shot_csv,
    few_shot_markdown,
    transfer_csv,
    transfer_markdown,
    write_csv,
)
from .transfer import build_transfer

MARKDOWN_NAME = "leaderboard.md"
CSV_NAME = "leaderboard.csv"
FIGURE_NAME = "leaderboard.png"
FEW_SHOT_FIGURE_NAME = "few_shot.png"


class NoRunsFoundError(UserInputError):
    """The output root holds no run folder."""


@dataclass
class Report:
    root: str
    runs: list  # Run
    base2new: Base2NewTable | None = None
    few_shot: FewShotTable | None = None
    transfer: list = field(default_factory=list)  # TransferTable: cross-dataset, then domain generalization
    published: bool = True  # show the published reference rows and deltas
    left_out: str = ""  # which run folders were left out (the demo's, other backbones) and the flag for them

    @property
    def finished(self) -> list:
        return [r for r in self.runs if r.finished]

    @property
    def unrecognised(self) -> list:
        return [r for r in self.runs if r.setting == UNKNOWN]

    @property
    def warnings(self) -> list:
        return [w for r in self.runs for w in r.warnings]

    def markdown(self) -> str:
        incomplete = len(self.runs) - len(self.finished)
        parts = ["# Leaderboard", "",
                 f"Output root `{self.root}`: {len(self.runs)} run folder{'s' if len(self.runs) != 1 else ''}, "
                 f"{len(self.finished)} with a result"
                 + (f", {incomplete} without" if incomplete else "") + ". Each run's result is its newest "
                 "complete log (`log.txt` or a re-run's `log.txt-<timestamp>`). ± is the population std (ddof=0) "
                 "over seeds; `(2/3)` means 2 of the 3 seeds this method has elsewhere."]
        if self.left_out:
            parts += ["", self.left_out]
        if self.base2new:
            parts += ["", base2new_markdown(self.base2new, self.published)]
        if self.few_shot:
            parts += ["", few_shot_markdown(self.few_shot)]
        for table in self.transfer:
            parts += ["", transfer_markdown(table)]
        if self.unrecognised:
            parts += ["", "## Unrecognised run folders", "",
                      "Their path fits no known layout and their log does not say enough; not in any table:", ""]
            parts += [f"- {relative_to(r.path, self.root)}: " + (f"{r.value:.2f}%" if r.finished else "no result")
                      for r in self.unrecognised]
        if self.warnings:
            parts += ["", "## Warnings", ""] + [f"- {w}" for w in self.warnings]
        return "\n".join(parts) + "\n"

    def csv_rows(self) -> list[dict]:
        rows = base2new_csv(self.base2new, self.published) if self.base2new else []
        rows += few_shot_csv(self.few_shot) if self.few_shot else []
        for table in self.transfer:
            rows += transfer_csv(table)
        return rows

    def write(self, out_dir: str | None = None, figures: bool = True) -> dict[str, str]:
        """Writes leaderboard.md, leaderboard.csv, leaderboard.png and (with few-shot runs) few_shot.png into
        out_dir (default: the output root). Returns {kind: path} of the files written."""
        from ...core.atomic_files import make_output_folder
        from .plots import plot_few_shot, plot_leaderboard

        out_dir = out_dir or self.root
        make_output_folder(out_dir, "--out")
        paths = {"markdown": os.path.join(out_dir, MARKDOWN_NAME), "csv": os.path.join(out_dir, CSV_NAME)}
        with open(paths["markdown"], "w", encoding="utf-8") as f:
            f.write(self.markdown())
        write_csv(self.csv_rows(), paths["csv"])
        if figures:
            figure = plot_leaderboard(self.base2new, self.few_shot, self.transfer, os.path.join(out_dir, FIGURE_NAME),
                                      published=self.published)
            if figure:
                paths["figure"] = figure
            few_shot = plot_few_shot(self.few_shot, os.path.join(out_dir, FEW_SHOT_FIGURE_NAME))
            if few_shot:
                paths["few_shot_figure"] = few_shot
        return paths


def build_report(output_root: str = "output", keyword: str = DEFAULT_KEYWORD, published: bool = True,
                 all_runs: bool = False) -> Report:
    """Reads every run folder under output_root (see runs.py for the layouts) into the leaderboard tables.

    Each run is labelled with what it ran with that its folder's default job does not (`Run.options`). Unless
    `all_runs`, the demo's runs (`<root>/demo/`) and runs whose backbone is not their config's are left out.
    Raises UserInputError when the root is not a folder, NoRunsFoundError when it holds no run folder.
    """
    from ..run_settings import run_options

    if not os.path.isdir(output_root):
        raise UserInputError(f"{output_root}: no such directory; pass the output root of your runs (--output-dir)")
    runs: list[Run] = discover_runs(output_root, keyword)
    if not runs:
        raise NoRunsFoundError(
            f"no runs found under {output_root}: expected run folders such as "
            "base2new/train_base/<dataset>/shots_16/<Trainer>/<cfg>/seed<S>, <dataset>/<Trainer>/<cfg>_<K>shots/"
            "seed<S> or evaluation/<Trainer>/<cfg>_<K>shots/<dataset>/seed<S>, each with a log.txt"
        )
    for run in runs:
        run.options = run_options(run)
    runs, left_out = (runs, "") if all_runs else leave_out_toy_runs(runs, output_root)
    if not runs:
        raise NoRunsFoundError(f"no runs to report under {output_root}: {left_out[0].lower()}{left_out[1:]}")
    return Report(
        root=output_root,
        runs=runs,
        base2new=build_base2new(runs, output_root),
        few_shot=build_few_shot(runs, output_root),
        transfer=build_transfer(runs, output_root),
        published=published,
        left_out=left_out,
    )


def leave_out_toy_runs(runs: list[Run], root: str) -> tuple[list[Run], str]:
    """The runs a leaderboard shows by default, and a sentence on those left out ('' when none): the demo's
    (under `<root>/demo/`) and those whose backbone differs from their config's (a quick check with the
    tiny CLIP in a benchmark folder)."""
    from ..jobs import DEMO_FOLDER
    from ..run_settings import other_backbone

    demo = [r for r in runs if _in_demo_folder(r, root)]
    backbone = [r for r in runs if not _in_demo_folder(r, root) and other_backbone(r.options)]
    if not demo and not backbone:
        return runs, ""
    parts = [f"{len(demo)} under {os.path.join(root, DEMO_FOLDER)} (the demo's)"] if demo else []
    if backbone:
        shown = [f"{relative_to(r.path, root)} (backbone {dict(r.options).get('MODEL.BACKBONE.NAME', 'changed')})"
                 for r in backbone[:2]]
        more = f" and {len(backbone) - 2} more" if len(backbone) > 2 else ""
        parts.append(f"{len(backbone)} with another backbone than their config's: {', '.join(shown)}{more}")
    left = {id(r) for r in demo + backbone}
    note = (f"Left out {len(left)} run folder{'s' if len(left) != 1 else ''}: {'; '.join(parts)}. "
            "`clipfit report --all-runs` includes them.")
    return [r for r in runs if id(r) not in left], note


def _in_demo_folder(run: Run, root: str) -> bool:
    """Whether the run lies in the demo's folder of `root` (not when `root` is that folder itself)."""
    from ..jobs import DEMO_FOLDER

    return relative_to(run.path, root).split(os.sep)[0] == DEMO_FOLDER

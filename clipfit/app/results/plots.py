"""Leaderboard figures (matplotlib, Agg canvas; no pyplot, no display needed)."""
from __future__ import annotations

import functools
import math
import os

from ..datasets_catalog import display_name
from .base2new import Base2NewTable
from .few_shot import FewShotTable
from .published import BASE2NEW, BASE2NEW_AVERAGE
from .transfer import TransferTable


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _grouped_bars(ax, groups: list[str], series: list[tuple[str, list]], markers=None) -> None:
    """Bars of series (label, values per group; None = no bar) side by side in each group.
    markers: {series index: values per group} drawn as black ticks (published numbers)."""
    count = max(len(series), 1)
    width = 0.8 / count
    tick_label = "published"
    for i, (label, values) in enumerate(series):
        xs = [g + (i - (count - 1) / 2) * width for g in range(len(groups))]
        ax.bar([x for x, v in zip(xs, values) if v is not None], [v for v in values if v is not None],
               width=width, label=label)
        for x, ref in zip(xs, (markers or {}).get(i, [])):
            if ref is not None:
                ax.plot([x - width / 2, x + width / 2], [ref, ref], color="black", linewidth=1.5, label=tick_label)
                tick_label = None
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _b2n_panel(ax, table: Base2NewTable, published: bool = True) -> None:
    groups = [display_name(d) for d in table.datasets] + ["Average"]
    series, markers = [], {}
    for i, method in enumerate(table.methods):
        average = table.averages.get(method)
        label = method.label + (f" (Average: {average.note})" if average is not None and average.note else "")
        series.append((label, [table.rows[(d, method)].hm for d in table.datasets]
                       + [None if average is None else average.values[2]]))
        pub = method.published
        if published and pub in BASE2NEW:
            average_ref = BASE2NEW_AVERAGE[pub].hm if average is not None and average.complete else None
            markers[i] = [getattr(BASE2NEW[pub].get(g), "hm", None) for g in groups[:-1]] + [average_ref]
    _grouped_bars(ax, groups, series, markers)
    ax.set_ylabel("HM (%)")
    ax.set_title("Base-to-new: HM per dataset" + (" (black ticks: published)" if markers else ""))
    ax.legend(fontsize=8)


def _few_shot_average_panel(ax, table: FewShotTable) -> None:
    for method in table.methods:
        points = [(k, table.averages[(method, k)]) for k in table.method_shots.get(method, [])
                  if table.averages.get((method, k)) is not None]
        if points:
            label = method.label + ("" if all(a.complete for _, a in points) else " (partial)")
            ax.plot([k for k, _ in points], [a.values[0] for _, a in points], marker="o", label=label)
    _shots_axis(ax, table.shots)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Few-shot: average over datasets")
    ax.legend(fontsize=8)


def _transfer_panel(ax, table: TransferTable) -> None:
    datasets = [table.source] + table.targets
    series = [(m.label, [getattr(table.cells.get((m, d)), "mean", None) for d in datasets]) for m in table.methods]
    _grouped_bars(ax, [display_name(d) + (" (source)" if d == table.source else "") for d in datasets], series)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(table.title)
    ax.legend(fontsize=8)


def _shots_axis(ax, shots) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(shots)
    ax.set_xticklabels([str(k) for k in shots])
    ax.set_xlabel("shots per class")
    ax.grid(alpha=0.3)


def plot_leaderboard(base2new: Base2NewTable | None, few_shot: FewShotTable | None,
                     transfer: list[TransferTable], path: str, published: bool = True) -> str | None:
    """One panel per setting present: base-to-new HM bars (published HM as ticks), few-shot average
    curves, transfer bars."""
    panels = [(functools.partial(_b2n_panel, published=published), base2new)] if base2new else []
    panels += [(_few_shot_average_panel, few_shot)] if few_shot else []
    panels += [(_transfer_panel, t) for t in transfer]
    if not panels:
        return None
    fig = _figure(12, 4.5 * len(panels))
    for i, (draw, data) in enumerate(panels):
        draw(fig.add_subplot(len(panels), 1, i + 1), data)
    return _save(fig, path)


def plot_few_shot(table: FewShotTable | None, path: str) -> str | None:
    """A grid of accuracy-vs-shots panels, one per dataset, plus the average."""
    if table is None:
        return None
    names = table.datasets + ["Average"]
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig = _figure(4 * cols, 3.2 * rows)
    for i, dataset in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        for method in table.methods:
            ks = table.method_shots.get(method, [])
            if dataset == "Average":
                pts = [(k, table.averages.get((method, k)).values[0], 0.0) for k in ks
                       if table.averages.get((method, k)) is not None]
            else:
                pts = [(k, table.cells[(dataset, method, k)].mean, table.cells[(dataset, method, k)].std)
                       for k in ks if table.cells.get((dataset, method, k)) is not None]
            if pts:
                ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o",
                            capsize=3, label=method.label)
        _shots_axis(ax, table.shots)
        ax.set_title(display_name(dataset))
        if i % cols == 0:
            ax.set_ylabel("accuracy (%)")
        if i == 0:
            ax.legend(fontsize=7)
    return _save(fig, path)

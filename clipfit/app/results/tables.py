"""The leaderboard as Markdown and as tidy CSV rows."""
from __future__ import annotations

import csv
import os
import re

from ..datasets_catalog import display_name, stems
from .aggregate import Average, Method, Stat
from .base2new import Base2NewTable
from .few_shot import FewShotTable
from .published import BASE2NEW, BASE2NEW_AVERAGE, BaseNewHM
from .transfer import TransferTable

MISSING = "missing"
NONE = "—"
CSV_COLUMNS = ["setting", "dataset", "method", "trainer", "config", "variant", "shots", "metric", "mean", "std",
               "n", "seeds", "source", "published", "delta", "note"]


# ------------------------------------------------------------------------------------------------ formatting

def fmt_stat(stat: Stat | None, expected: int | None = None) -> str:
    """`83.72 ± 0.31 (3)`; `(2/3)` when seeds that the method has elsewhere lack here; `missing` if none."""
    if stat is None:
        return MISSING
    count = f"{stat.n}/{expected}" if expected and stat.n < expected else f"{stat.n}"
    return f"{stat.mean:.2f} ± {stat.std:.2f} ({count})"


def _mean(stat: Stat | None) -> float | None:
    return None if stat is None else stat.mean


def fmt_num(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def fmt_average(average: Average | None, index: int = 0, empty: str = NONE) -> str:
    """One value of an average, `62.15 (avg of 3/11)` when it is partial; `empty` when there is none."""
    if average is None:
        return empty
    return fmt_num(average.values[index]) + (f" ({average.note})" if average.note else "")


def fmt_delta(ours: float | None, ref: float | None) -> str:
    return "" if ours is None or ref is None else f"{ours - ref:+.2f}"


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub pipe table, columns padded so that it also reads well in a terminal."""
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


# --------------------------------------------------------------------------------------------- base-to-new

def _published_names(table: Base2NewTable) -> list[str]:
    """The published methods with per-dataset rows that the table's methods reproduce, in method order."""
    names = []
    for method in table.methods:
        name = method.published
        if name in BASE2NEW and name not in names:
            names.append(name)
    return names


def base2new_markdown(table: Base2NewTable, published: bool = True) -> str:
    parts = ["## Base-to-new generalization", "",
             "Base: final test accuracy of the `train_base` run (base classes); New: the `test_new` eval-only "
             "run (new classes); HM = HM(mean Base, mean New). Cells: mean ± std over seeds (n seeds)."]
    parts += ["", "### Average over the 11 datasets", "", _b2n_average_table(table, published)]
    partial = [m for m in table.methods if table.averages.get(m) and not table.averages[m].complete]
    if partial:
        parts += ["", "Partial averages (`avg of k/11`) cover only the datasets with both Base and New; their Δ "
                      "compares with the published per-dataset numbers averaged over the same datasets."]
    parts += ["", "### Per dataset", "", _b2n_dataset_table(table, published)]
    parts += ["", "### HM per dataset", "", _b2n_hm_table(table, published)]
    if table.missing:
        parts += ["", "Missing or incomplete:", "", _bullets(table.missing)]
    return "\n".join(parts)


def _b2n_average_table(table: Base2NewTable, published: bool) -> str:
    headers = ["Method", "Base", "New", "HM", "Δ Base", "Δ New", "Δ HM", "Datasets"]
    rows = []
    for method in table.methods:
        average = table.averages.get(method)
        if average is None:
            rows.append([method.label, NONE, NONE, NONE, "", "", "", f"0/{len(stems('base2new'))}"])
            continue
        ref = table.published_average(method) if published else None
        rows.append([method.label, *map(fmt_num, average.values),
                     *(fmt_delta(o, r) for o, r in zip(average.values, ref or (None,) * 3)),
                     average.note or f"{len(average.datasets)}/{average.total}"])
    if published:
        for name, values in BASE2NEW_AVERAGE.items():
            rows.append([f"paper: {name}", *map(fmt_num, values), "", "", "", "11/11"])
    return md_table(headers, rows)


def _b2n_dataset_table(table: Base2NewTable, published: bool) -> str:
    headers = ["Dataset", "Method", "Base", "New", "HM", "Δ Base", "Δ New", "Δ HM"]
    rows = []
    for dataset in table.datasets:
        name = display_name(dataset)
        for method in table.methods:
            row = table.rows[(dataset, method)]
            expected = len(row.expected_seeds)
            ref = table.published(method, dataset) if published else None
            ours = (_mean(row.base), _mean(row.new), row.hm)
            hm_text = fmt_num(row.hm) if (row.base or row.new) else NONE
            rows.append([name, method.label, fmt_stat(row.base, expected), fmt_stat(row.new, expected), hm_text,
                         *(fmt_delta(o, r) for o, r in zip(ours, ref or (None,) * 3))])
        if published:
            for pub in _published_names(table):
                values = BASE2NEW[pub].get(name)
                if values:
                    rows.append([name, f"paper: {pub}", *map(fmt_num, values), "", "", ""])
    return md_table(headers, rows)


def _b2n_hm_table(table: Base2NewTable, published: bool) -> str:
    headers = ["Method"] + [display_name(d) for d in table.datasets] + ["Average"]
    rows = []
    for method in table.methods:
        rows.append([method.label] + [fmt_num(table.rows[(d, method)].hm) for d in table.datasets]
                    + [fmt_average(table.averages.get(method), 2)])
    if published:
        for pub in _published_names(table):
            rows.append([f"paper: {pub}"] + [fmt_num(getattr(BASE2NEW[pub].get(display_name(d)), "hm", None))
                                            for d in table.datasets] + [fmt_num(BASE2NEW_AVERAGE[pub].hm)])
    return md_table(headers, rows)


# ------------------------------------------------------------------------------------------------- few-shot

def few_shot_markdown(table: FewShotTable) -> str:
    headers = ["Dataset", "Method"] + [f"{k} shot{'s' if k != 1 else ''}" for k in table.shots]
    rows = []
    for dataset in table.datasets:
        for method in table.methods:
            rows.append([display_name(dataset), method.label] + [_few_shot_cell(table, dataset, method, k)
                                                                 for k in table.shots])
    for method in table.methods:
        rows.append(["Average", method.label] + [fmt_average(table.averages.get((method, k)), empty="")
                                                 for k in table.shots])
    parts = ["## Few-shot classification", "",
             "Test accuracy (%) by shots per class; mean ± std over seeds (n seeds). The average is the mean over "
             "the 11 benchmark datasets of the per-dataset means.", "", md_table(headers, rows)]
    if table.missing:
        parts += ["", "Missing or incomplete:", "", _bullets(table.missing)]
    return "\n".join(parts)


def _few_shot_cell(table: FewShotTable, dataset: str, method: Method, k: int) -> str:
    if k not in table.method_shots.get(method, []):
        return ""
    return fmt_stat(table.cells.get((dataset, method, k)), len(table.expected_seeds.get(method, ())))


# ------------------------------------------------------------------------------------------------- transfer

def transfer_markdown(table: TransferTable) -> str:
    source = display_name(table.source)
    headers = ["Method", f"{source} (source)"] + [display_name(d) for d in table.targets] + ["Average (targets)"]
    rows = []
    for method in table.methods:
        seeds = table.expected_seeds.get(method, ())
        rows.append([method.label, fmt_stat(table.cells.get((method, table.source)), len(seeds))]
                    + [fmt_stat(table.cells.get((method, d)), len(seeds)) for d in table.targets]
                    + [fmt_average(table.averages.get(method))])
    parts = [f"## {table.title}", "",
             f"Trained on {source} (`{table.source}/<Trainer>/<cfg>_<K>shots`), evaluated on {table.targets_text} "
             f"(`evaluation/...`); mean ± std over seeds (n seeds).", "", md_table(headers, rows)]
    if table.missing:
        parts += ["", "Missing or incomplete:", "", _bullets(table.missing)]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------------ CSV

def _row(setting, dataset, method: Method | None, metric, stat=None, *, mean=None, n=None, source="ours",
         published=None, shots=None, note="", name=None) -> dict:
    if stat is not None:
        mean, n = stat.mean, stat.n
    return {
        "setting": setting,
        "dataset": dataset,
        "method": name or (method.label if method else ""),
        "trainer": method.trainer if method else "",
        "config": method.config if method else "",
        "variant": method.variant if method else "",
        "shots": shots if shots is not None else "",
        "metric": metric,
        "mean": "" if mean is None else f"{mean:.4f}",
        "std": "" if stat is None else f"{stat.std:.4f}",
        "n": "" if n is None else n,
        "seeds": "" if stat is None else " ".join(str(s) for s in stat.seeds),
        "source": source,
        "published": "" if published is None else f"{published:.4f}",
        "delta": "" if published is None or mean is None else f"{mean - published:.4f}",
        "note": note if mean is not None or source != "ours" else (note or MISSING),
    }


def base2new_csv(table: Base2NewTable, published: bool = True) -> list[dict]:
    rows = []
    for dataset in table.datasets:
        name = display_name(dataset)
        for method in table.methods:
            row = table.rows[(dataset, method)]
            ref = table.published(method, dataset) if published else None
            ref = ref or BaseNewHM(None, None, None)
            shots = _grid_shots(method)
            rows.append(_row("base2new", name, method, "base", row.base, published=ref.base, shots=shots))
            rows.append(_row("base2new", name, method, "new", row.new, published=ref.new, shots=shots))
            n = min(row.base.n, row.new.n) if row.hm is not None else None
            rows.append(_row("base2new", name, method, "hm", mean=row.hm, n=n, published=ref.hm, shots=shots,
                             note="HM(mean base, mean new)" if row.hm is not None else ""))
        if published:
            for pub in _published_names(table):
                values = BASE2NEW[pub].get(name)
                for metric, value in zip(("base", "new", "hm"), values or ()):
                    rows.append(_row("base2new", name, None, metric, mean=value, source="published", name=pub,
                                     shots=16))
    for method in table.methods:
        average = table.averages.get(method)
        if average is None:
            continue
        ref = (table.published_average(method) if published else None) or BaseNewHM(None, None, None)
        note = average.note or f"mean over {average.total} datasets; hm = HM(mean base, mean new)"
        for metric, value, pub in zip(("base", "new", "hm"), average.values, ref):
            rows.append(_row("base2new", "Average", method, metric, mean=value, n=len(average.datasets),
                             published=pub, shots=_grid_shots(method), note=note))
    if published:
        for name, values in BASE2NEW_AVERAGE.items():
            for metric, value in zip(("base", "new", "hm"), values):
                rows.append(_row("base2new", "Average", None, metric, mean=value, n=11, source="published",
                                 name=name, shots=16))
    return rows


def _grid_shots(method: Method):
    match = re.match(r"shots_(\d+)", method.grid)
    return int(match.group(1)) if match else ""


def few_shot_csv(table: FewShotTable) -> list[dict]:
    rows = []
    for dataset in table.datasets:
        for method in table.methods:
            for k in table.method_shots.get(method, []):
                rows.append(_row("few_shot", display_name(dataset), method, "accuracy",
                                 table.cells.get((dataset, method, k)), shots=k))
    for method in table.methods:
        for k in table.method_shots.get(method, []):
            average = table.averages.get((method, k))
            if average is not None:
                rows.append(_row("few_shot", "Average", method, "accuracy", mean=average.values[0],
                                 n=len(average.datasets), shots=k,
                                 note=average.note or f"mean over {average.total} datasets"))
    return rows


def transfer_csv(table: TransferTable) -> list[dict]:
    rows = []
    for method in table.methods:
        rows.append(_row(table.kind, display_name(table.source), method, "accuracy",
                         table.cells.get((method, table.source)), shots=method.shots, note="source"))
        for dataset in table.targets:
            rows.append(_row(table.kind, display_name(dataset), method, "accuracy", table.cells.get((method, dataset)),
                             shots=method.shots, note="target"))
        average = table.averages.get(method)
        if average is not None:
            rows.append(_row(table.kind, "Average", method, "accuracy", mean=average.values[0],
                             n=len(average.datasets), shots=method.shots,
                             note=average.note or f"mean over {average.total} targets"))
    return rows


def write_csv(rows: list[dict], path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path

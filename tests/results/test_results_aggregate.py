"""Leaderboard arithmetic on constructed runs: seeds, HM, the average-row convention, missing runs."""
import os

import numpy as np
import pytest
from fake_logs import b2n_run, crashed_log, few_shot_run, md_rows, training_log, transfer_run, write

from clipfit.app.datasets_catalog import stems
from clipfit.app.results import Stat, build_report, hm
from clipfit.app.results.aggregate import Method
from clipfit.app.results.base2new import Base2NewRow, base2new_average
from clipfit.app.results.tables import fmt_stat

CLIPFIT = Method("CLIPFit", "vit_b16", grid="shots_16")


def test_hm():
    assert hm(80.0, 60.0) == pytest.approx(68.5714286)
    assert hm(0.0, 0.0) == 0.0


def test_stat_uses_population_std():
    stat = Stat.of({1: 80.0, 2: 81.0, 3: 82.5})
    assert stat.mean == pytest.approx(81.1666667) and stat.n == 3 and stat.seeds == (1, 2, 3)
    assert stat.std == pytest.approx(np.std([80.0, 81.0, 82.5], ddof=0))
    assert stat.std != pytest.approx(np.std([80.0, 81.0, 82.5], ddof=1))
    assert fmt_stat(stat) == "81.17 ± 1.03 (3)" and fmt_stat(stat, expected=4) == "81.17 ± 1.03 (3/4)"
    assert Stat.of({}) is None and fmt_stat(None) == "missing"


def _row(dataset, base, new):
    return Base2NewRow(dataset, CLIPFIT, Stat.of({1: base}), Stat.of({1: new}), (1,))


def test_average_row_is_hm_of_means_not_mean_of_hms():
    rows = [_row(d, 90.0, 10.0) if i % 2 == 0 else _row(d, 10.0, 90.0) for i, d in enumerate(stems("base2new"))]
    average = base2new_average(rows)
    base, new = (6 * 90 + 5 * 10) / 11, (6 * 10 + 5 * 90) / 11
    assert average.values == pytest.approx((base, new, hm(base, new)))
    assert average.values[2] == pytest.approx(49.7355, abs=1e-4)
    assert np.mean([r.hm for r in rows]) == pytest.approx(18.0)  # what the wrong convention would give
    assert average.complete and average.note == ""


def test_average_is_partial_when_datasets_lack():
    average = base2new_average([_row("dtd", 80.0, 60.0), _row("eurosat", 90.0, 70.0),
                                Base2NewRow("ucf101", CLIPFIT, Stat.of({1: 70.0}), None, (1,))])
    assert average.datasets == ("dtd", "eurosat") and not average.complete and average.note == "avg of 2/11"
    assert average.values == pytest.approx((85.0, 65.0, hm(85.0, 65.0)))


def test_full_grid_through_logs(tmp_path):
    """11 datasets x 3 seeds from logs; the average row follows the published convention."""
    for i, dataset in enumerate(stems("base2new")):
        for seed in (1, 2, 3):
            base, new = (90.0 + seed, 10.0 + seed) if i % 2 == 0 else (10.0 + seed, 90.0 + seed)
            b2n_run(tmp_path, dataset, "CLIPFit", "vit_b16", seed, base=base, new=new)
    report = build_report(str(tmp_path))
    table = report.base2new
    (method,) = table.methods
    row = table.rows[("imagenet", method)]
    assert row.base.mean == pytest.approx(92.0) and row.base.std == pytest.approx(np.std([91, 92, 93]))
    assert row.hm == pytest.approx(hm(92.0, 12.0))
    average = table.averages[method]
    base, new = (6 * 92 + 5 * 12) / 11, (6 * 12 + 5 * 92) / 11
    assert average.complete and average.values == pytest.approx((base, new, hm(base, new)))
    assert table.published_average(method) == (83.72, 74.84, 79.03)
    assert not table.missing
    rows = md_rows(report.markdown())
    assert ["CLIPFit vit_b16", f"{base:.2f}", f"{new:.2f}", f"{hm(base, new):.2f}",
            f"{base - 83.72:+.2f}", f"{new - 74.84:+.2f}", f"{hm(base, new) - 79.03:+.2f}", "11/11"] in rows


def test_missing_seed_missing_dataset_and_incomplete_run(tmp_path):
    for seed in (1, 2, 3):
        b2n_run(tmp_path, "oxford_pets", "CLIPFit", "vit_b16", seed, base=95.2, new=None if seed == 3 else 97.1)
        b2n_run(tmp_path, "dtd", "CLIPFit", "vit_b16", seed, base=80.0, new=60.0)
    b2n_run(tmp_path, "dtd", "CoOp", "vit_b16_ep50", 1, base=79.0, new=41.0)
    crashed = tmp_path / "base2new/train_base/dtd/shots_16/CoOp/vit_b16_ep50/seed2"
    write(crashed, crashed_log(crashed, trainer="CoOp", cfg="vit_b16_ep50", dataset="dtd", seed=2, subsample="base"))
    report = build_report(str(tmp_path))
    table = report.base2new
    clipfit, = [m for m in table.methods if m.trainer == "CLIPFit"]
    coop, = [m for m in table.methods if m.trainer == "CoOp"]

    pets = table.rows[("oxford_pets", clipfit)]
    assert pets.base.n == 3 and pets.new.n == 2 and pets.new.seeds == (1, 2)
    assert pets.hm == pytest.approx(hm(95.2, 97.1))
    assert table.rows[("oxford_pets", coop)].base is None and table.rows[("oxford_pets", coop)].hm is None
    assert table.rows[("dtd", coop)].base.n == 1 and table.rows[("dtd", coop)].base.seeds == (1,)

    missing = "\n".join(table.missing)
    assert ("CLIPFit vit_b16 · OxfordPets · New (test_new) seed 3: missing "
            "(no folder base2new/test_new/oxford_pets/shots_16/CLIPFit/vit_b16/seed3)") in missing
    assert "CoOp vit_b16_ep50 · OxfordPets: no runs" in missing
    assert ("CoOp vit_b16_ep50 · DTD · Base (train_base) seed 2: incomplete (no result in "
            "base2new/train_base/dtd/shots_16/CoOp/vit_b16_ep50/seed2: log.txt") in missing
    assert "CoOp vit_b16_ep50 · DTD · New (test_new) seed 2: missing" in missing

    md = report.markdown()
    rows = md_rows(md)
    assert ["OxfordPets", "CLIPFit vit_b16", "95.20 ± 0.00 (3)", "97.10 ± 0.00 (2/3)", "96.14", "-0.03", "-0.03",
            f"{hm(95.2, 97.1) - 96.17:+.2f}"] in rows
    assert ["OxfordPets", "CoOp vit_b16_ep50", "missing", "missing", "—", "", "", ""] in rows
    assert ["DTD", "paper: CoOp", "79.44", "41.18", "54.24", "", "", ""] in rows
    assert "avg of 2/11" in md and "avg of 1/11" in md

    average = table.averages[clipfit]
    assert average.note == "avg of 2/11"
    ref = table.published_average(clipfit)  # published rows averaged over the same two datasets
    assert ref.base == pytest.approx((95.23 + 81.97) / 2) and ref.new == pytest.approx((97.13 + 63.50) / 2)


def test_zeroshot_clip_is_compared_with_published_clip(tmp_path):
    b2n_run(tmp_path, "eurosat", "ZeroshotCLIP", "vit_b16", 1, base=56.5, new=64.0)
    report = build_report(str(tmp_path))
    (method,) = report.base2new.methods
    assert method.published == "CLIP"
    assert report.base2new.published(method, "eurosat") == (56.48, 64.05, 60.03)
    assert ["EuroSAT", "ZeroshotCLIP vit_b16", "56.50 ± 0.00 (1)", "64.00 ± 0.00 (1)", "60.02", "+0.02", "-0.05",
            "-0.01"] in md_rows(report.markdown())


def test_other_shots_grid_is_not_compared(tmp_path):
    b2n_run(tmp_path, "eurosat", "CLIPFit", "vit_b16", 1, base=50.0, new=50.0, shots_dir="shots_4")
    (method,) = build_report(str(tmp_path)).base2new.methods
    assert method.published is None and method.label == "CLIPFit vit_b16 [shots_4]"


def test_few_shot_and_transfer_tables(tmp_path):
    variant = "nctx16_cscFalse_ctpend"
    for seed in (1, 2):
        for shots in (1, 16):
            few_shot_run(tmp_path, "imagenet", "CoOp", "rn50", shots, seed, 60.0 + shots + seed, variant=variant)
        few_shot_run(tmp_path, "dtd", "CoOp", "rn50", 1, seed, 40.0 + seed, variant=variant)
        transfer_run(tmp_path, "dtd", "CoOp", "rn50", seed, 30.0 + seed, variant=variant)
        transfer_run(tmp_path, "imagenet_a", "CoOp", "rn50", seed, 20.0 + seed, variant=variant)
    report = build_report(str(tmp_path))
    fs = report.few_shot
    (method,) = fs.methods
    assert method.variant == variant and fs.shots == [1, 16] and fs.method_shots[method] == [1, 16]
    assert fs.cells[("imagenet", method, 16)].mean == pytest.approx(77.5)
    assert fs.cells[("dtd", method, 16)] is None
    assert fs.averages[(method, 1)].values[0] == pytest.approx((62.5 + 41.5) / 2)
    assert fs.averages[(method, 1)].note == "avg of 2/11"
    assert "CoOp rn50 nctx16_cscFalse_ctpend · DTD · 16 shots seed 1: missing" in "\n".join(fs.missing)

    xd, dg = report.transfer
    assert xd.kind == "cross_dataset" and xd.targets == ["dtd"] and dg.targets == ["imagenet_a"]
    (tm,) = xd.methods
    assert tm.shots == 16 and xd.cells[(tm, "imagenet")].mean == pytest.approx(77.5)
    assert xd.cells[(tm, "dtd")].mean == pytest.approx(31.5) and xd.averages[tm].note == "avg of 1/10"
    assert dg.averages[tm].values[0] == pytest.approx(21.5) and dg.averages[tm].note == "avg of 1/4"
    md = report.markdown()
    assert "## Few-shot classification" in md and "## Cross-dataset transfer" in md and "## Domain generalization" in md


def test_header_fallback_unrecognised_and_warnings(tmp_path):
    odd = tmp_path / "my_runs" / "pets_base"  # not the scripts' layout: identified from the log header
    write(odd, training_log(odd, 90.0, dataset="oxford_pets", seed=4, subsample="base"))
    write(tmp_path / "scratch", "Evaluate on the *test* set\n=> result\n* accuracy: 12.0%\n")
    wrong = tmp_path / "base2new/train_base/dtd/shots_16/CLIPFit/vit_b16/seed1"
    write(wrong, training_log(wrong, 80.0, dataset="dtd", seed=2, subsample="base"))
    report = build_report(str(tmp_path))
    pets = [r for r in report.runs if r.path.endswith("pets_base")][0]
    assert (pets.setting, pets.role, pets.dataset, pets.seed) == ("base2new", "base", "oxford_pets", 4)
    assert pets.identified_by == "log"
    assert [os.path.basename(r.path) for r in report.unrecognised] == ["scratch"]
    md = report.markdown()
    assert "## Unrecognised run folders" in md and "- scratch: 12.00%" in md
    assert ("base2new/train_base/dtd/shots_16/CLIPFit/vit_b16/seed1 (log.txt): "
            "folder says seed 1, the log says seed 2") in md

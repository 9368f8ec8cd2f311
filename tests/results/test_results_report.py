"""`clipfit report` end to end on a fake output tree, and the files it writes."""
import csv
import os

import pytest
from fake_logs import b2n_run, crashed_log, eval_log, few_shot_run, md_rows, training_log, transfer_run, write

from clipfit.app.cli import main
from clipfit.app.results import build_report
from clipfit.app.results.report import NoRunsFoundError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STAMP = "log.txt-2024-05-01-10-00-00"


@pytest.fixture(scope="module")
def output_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("output")
    for seed in (1, 2, 3):
        b2n_run(root, "oxford_pets", "CLIPFit", "vit_b16", seed, base=95.0 + seed / 10, new=97.0)
        b2n_run(root, "dtd", "CLIPFit", "vit_b16", seed, base=82.0, new=None if seed == 3 else 63.0)
        b2n_run(root, "oxford_pets", "ZeroshotCLIP", "vit_b16", seed, base=91.2, new=97.3)
        for shots in (1, 4, 16):
            few_shot_run(root, "imagenet", "CLIPFit", "vit_b16", shots, seed, 60.0 + shots)
            few_shot_run(root, "dtd", "CLIPFit", "vit_b16", shots, seed, 45.0 + shots + seed)
        transfer_run(root, "caltech101", "CLIPFit", "vit_b16", seed, 93.0)
        transfer_run(root, "imagenetv2", "CLIPFit", "vit_b16", seed, 64.0)
    # seed 1 on DTD was re-run: the newer complete log wins; seed 2's newer re-run crashed and is ignored
    run1 = root / "base2new/train_base/dtd/shots_16/CLIPFit/vit_b16/seed1"
    write(run1, training_log(run1, 83.5, dataset="dtd", seed=1, subsample="base"), STAMP)
    run2 = root / "base2new/train_base/dtd/shots_16/CLIPFit/vit_b16/seed2"
    write(run2, crashed_log(run2, dataset="dtd", seed=2, subsample="base"), STAMP)
    return str(root)


def test_report_command_end_to_end(output_tree, tmp_path, capsys):
    out = tmp_path / "report"
    rc = main(["report", "--output-dir", output_tree, "--out", str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0
    names = ("leaderboard.md", "leaderboard.csv", "leaderboard.png", "few_shot.png")
    written = {name: str(out / name) for name in names}
    for path in written.values():
        assert f"wrote {path}" in stdout and os.path.getsize(path) > 0
    markdown = (out / "leaderboard.md").read_text()
    assert markdown in stdout

    rows = md_rows(markdown)
    dtd_base = f"{(83.5 + 82.0 + 82.0) / 3:.2f} ± 0.71 (3)"
    dtd = [r for r in rows if r[:2] == ["DTD", "CLIPFit vit_b16"]][0]
    assert dtd[2:4] == [dtd_base, "63.00 ± 0.00 (2/3)"]  # seed 1 from its re-run log; seed 2 from log.txt
    assert ["OxfordPets", "paper: CLIP", "91.17", "97.26", "94.12", "", "", ""] in rows
    assert "CLIPFit vit_b16 · DTD · New (test_new) seed 3: missing" in markdown
    assert "avg of 2/11" in markdown and "## Few-shot classification" in markdown
    assert "CLIPFit vit_b16: the average lacks 9 of the 11 datasets: ImageNet, Caltech101, StanfordCars" in markdown
    assert "## Cross-dataset transfer" in markdown and "## Domain generalization" in markdown

    with open(out / "leaderboard.csv", newline="") as f:
        table = list(csv.DictReader(f))
    pets = [r for r in table if r["setting"] == "base2new" and r["dataset"] == "OxfordPets"
            and r["method"] == "CLIPFit vit_b16" and r["metric"] == "base"][0]
    assert float(pets["mean"]) == pytest.approx(95.2) and pets["n"] == "3" and pets["seeds"] == "1 2 3"
    assert float(pets["std"]) == pytest.approx(0.0816, abs=1e-4)  # population std of 95.1, 95.2, 95.3
    assert float(pets["published"]) == 95.23 and float(pets["delta"]) == pytest.approx(-0.03)
    average = [r for r in table
               if r["dataset"] == "Average" and r["method"] == "CLIPFit vit_b16" and r["metric"] == "hm"]
    assert average[0]["note"] == "avg of 2/11" and average[0]["n"] == "2"
    assert {r["setting"] for r in table} == {"base2new", "few_shot", "cross_dataset", "domain_generalization"}
    assert any(r["source"] == "published" and r["method"] == "PromptSRC" for r in table)


def test_figures_are_valid_pngs(output_tree, tmp_path):
    from matplotlib.image import imread

    paths = build_report(output_tree).write(str(tmp_path))
    for key in ("figure", "few_shot_figure"):
        with open(paths[key], "rb") as f:
            assert f.read(8) == PNG_SIGNATURE
        image = imread(paths[key])
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_a_method_with_no_benchmark_dataset_gets_one_short_note(tmp_path, capsys):
    b2n_run(tmp_path, "demo_shapes", "CoOp", "tiny_demo", 1, base=35.0, new=20.0)
    assert main(["report", "--output-dir", str(tmp_path), "--no-figures", "--no-published"]) == 0
    out = capsys.readouterr().out
    assert "CoOp tiny_demo: no average (it has no run on the 11 benchmark datasets)" in out
    assert "lacks" not in out


def test_default_out_is_the_output_root(tmp_path, capsys):
    b2n_run(tmp_path, "eurosat", "CoOp", "vit_b16", 1, base=92.0, new=55.0)
    assert main(["report", "--output-dir", str(tmp_path), "--quiet", "--no-figures", "--no-published"]) == 0
    stdout = capsys.readouterr().out
    assert "# Leaderboard" not in stdout and f"wrote {tmp_path}/leaderboard.md" in stdout
    assert "paper:" not in (tmp_path / "leaderboard.md").read_text()
    assert not (tmp_path / "leaderboard.png").exists()


def test_run_discovery_roots(tmp_path):
    run = tmp_path / "base2new/test_new/dtd/shots_16/CLIPFit/vit_b16/seed1"
    write(run, eval_log(run, 60.0, dataset="dtd", subsample="new"))
    write(tmp_path, training_log(tmp_path, 1.0))  # a stray output/log.txt (a run without --output-dir)
    report = build_report(str(tmp_path))
    assert [r.path for r in report.runs] == [str(run)] and report.runs[0].value == 60.0
    assert [r.path for r in build_report(str(run)).runs] == [str(run)]  # the root may be a run folder


def test_no_runs_found(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", "--output-dir", str(tmp_path)]) == 2
    assert f"no runs found under {tmp_path}" in capsys.readouterr().err
    with pytest.raises(NoRunsFoundError):
        build_report(str(tmp_path))
    assert main(["report", "--output-dir", str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--output-dir", "--out", "--no-published", "--no-figures", "leaderboard.csv", "HM(mean base"):
        assert option in text


def test_maple_promptsrc_kgcoop_and_prograd_rows_get_their_published_deltas(tmp_path):
    """Runs of the trainers the authors register (their repositories through `clipfit with-dassl`, or native
    ones) compare with their papers: per dataset where the numbers are published, else the 11-dataset average."""
    from clipfit.app.datasets_catalog import stems

    for seed in (1, 2):
        b2n_run(tmp_path, "dtd", "MaPLe", "vit_b16_c2_ep5_batch4_2ctx", seed, base=80.0, new=60.0)
        b2n_run(tmp_path, "dtd", "PromptSRC", "vit_b16_c2_ep20_batch4_4+4ctx", seed, base=83.0, new=63.0)
        for dataset in stems("base2new"):
            b2n_run(tmp_path, dataset, "KgCoOp", "vit_b16_ep100_ctxv1", seed, base=81.0, new=74.0)
            b2n_run(tmp_path, dataset, "ProGrad", "vit_b16_ep100_ctxv1", seed, base=82.0, new=71.0)
    rows = md_rows(build_report(str(tmp_path)).markdown())
    maple = [r for r in rows if r[:2] == ["DTD", "MaPLe vit_b16_c2_ep5_batch4_2ctx"]][0]
    assert maple[2:] == ["80.00 ± 0.00 (2)", "60.00 ± 0.00 (2)", "68.57", "-0.36", "+0.82", "+0.41"]
    assert ["DTD", "paper: PromptSRC", "83.37", "62.97", "71.75", "", "", ""] in rows
    kgcoop = [r for r in rows if r[0] == "KgCoOp vit_b16_ep100_ctxv1"][0]
    assert kgcoop[4:7] == ["+0.27", "+0.40", "+0.34"]  # 81 / 74 / 77.34 against 80.73 / 73.60 / 77.00
    prograd = [r for r in rows if r[0] == "ProGrad vit_b16_ep100_ctxv1"][0]
    assert prograd[4:7] == ["-0.48", "+0.25", "-0.06"]  # 82 / 71 / 76.10 against 82.48 / 70.75 / 76.16
    assert [r for r in rows if r[:2] == ["DTD", "KgCoOp vit_b16_ep100_ctxv1"]][0][5:] == ["", "", ""]

"""The benchmark scripts run (tiny CLIP, one iteration) and print the JSON lines they return."""
import json

import pytest
import torch

from clipfit.clip import prompt_for, tokenize

QUICK_CPU = ["--quick", "--device", "cpu", "--backbone", "tiny"]


def _json_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_clipfit_benchmark_on_cpu_with_tiny(bench, capsys):
    records = bench.main([*QUICK_CPU, "--modes", "fp16,fp32", "--share-prefix", "both"])
    assert _json_lines(capsys) == records
    assert [(r["case"], r["mode"], r["effective_mode"], r["share_prefix"]) for r in records] == [
        ("train_step", "fp16", "fp32", True),
        ("train_step", "fp16", "fp32", False),
        ("eval_batch", "fp16", "fp32", True),
        ("eval_batch", "fp16", "fp32", False),
        ("train_step", "fp32", "fp32", True),
        ("train_step", "fp32", "fp32", False),
        ("eval_batch", "fp32", "fp32", True),
        ("eval_batch", "fp32", "fp32", False),
    ]
    assert {(r["prefix_tokens"], r["share_prefix"]) for r in records} == {(5, True), (0, False)}  # [SOS] a photo of a
    assert all(r["median_ms"] > 0 and r["peak_mem_gb"] is None and r["compile"] == "off" for r in records)


def test_benchmark_prompts_have_realistic_lengths(bench):
    names = bench.class_names(500)
    assert len(set(names)) == 500
    lengths = tokenize([prompt_for(bench.TEMPLATE, n) for n in names]).argmax(dim=-1) + 1
    assert 14 <= lengths.float().mean() <= 20 and lengths.max() <= 24


def test_baselines_benchmark_times_every_method_with_its_shapes(benchmark_module, capsys):
    baselines = benchmark_module("bench_baselines")
    records = baselines.main([*QUICK_CPU])
    assert _json_lines(capsys) == records
    cases = [(r["method"], r["case"], r["batch"], r["classes"]) for r in records]
    assert cases == [
        ("coop", "train_step", 2, 10),
        ("cocoop", "train_step", 1, 10),
        ("cocoop", "train_step", 2, 10),
        ("cocoop", "eval_batch", 4, 10),
        ("clipfit", "train_step", 2, 10),
    ]
    coop, cocoop = records[0], records[1]
    assert (coop["n_ctx"], coop["prefix_tokens"]) == (16, 17)  # [SOS] + the generic context
    assert (cocoop["n_ctx"], cocoop["prefix_tokens"], cocoop["text_passes"]) == (4, 5, 1)
    assert all(r["ms_per_image"] > 0 for r in records)


def test_baselines_benchmark_selects_cases_and_refuses_unknown_methods(benchmark_module, capsys):
    baselines = benchmark_module("bench_baselines")
    records = baselines.main([*QUICK_CPU, "--select", "coop:2:10", "--share-prefix", "off"])
    assert [(r["method"], r["share_prefix"], r["prefix_tokens"]) for r in records] == [("coop", False, 0)]
    with pytest.raises(SystemExit, match="unknown --methods"):
        baselines.main([*QUICK_CPU, "--methods", "coop,lora"])


def test_text_prefix_benchmark_reports_every_variant_and_the_speedups(benchmark_module, capsys):
    text_prefix = benchmark_module("bench_text_prefix")
    records = text_prefix.main([*QUICK_CPU, "--methods", "coop,cocoop", "--images", "2", "--names", "varied"])
    assert _json_lines(capsys) == records
    rows = [(r["method"], r["case"], r.get("variant")) for r in records]
    assert rows == [
        ("coop", "text_fwd_bwd", "full"),
        ("coop", "text_fwd_bwd", "prefix"),
        ("coop", "text_fwd_bwd", "unpadded"),
        ("coop", "text_fwd_bwd", "auto"),
        ("coop", "text_fwd_bwd_speedup", None),
        ("cocoop", "text_fwd_bwd", "full"),
        ("cocoop", "text_fwd_bwd", "prefix"),
        ("cocoop", "text_fwd_bwd", "unpadded"),
        ("cocoop", "text_fwd_bwd", "auto"),
        ("cocoop", "text_fwd_bwd_speedup", None),
    ]
    speedups = [r for r in records if r["case"] == "text_fwd_bwd_speedup"]
    assert all(r["names"] == "varied" and min(r["prefix_speedup"], r["unpadded_speedup"], r["auto_speedup"]) > 0
               for r in speedups)
    from clipfit.clip import shared_prefix

    # restored after the variants
    assert (shared_prefix.UNPAD_SUFFIXES, shared_prefix.GPU_MIN_SAVED_TOKENS) == (True, 2048)


def test_run_all_labels_every_method(benchmark_module, capsys):
    run_all = benchmark_module("run_all")
    records = run_all.main(["--quick", "--device", "cpu", "--backbone", "tiny"])
    assert _json_lines(capsys) == records
    assert [r["method"] for r in records] == ["coop", "cocoop", "cocoop", "cocoop", "clipfit", "clipfit/coop/zsclip"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_benchmark_quick_on_cuda_reports_memory(bench):
    records = bench.main(["--quick", "--device", "cuda", "--backbone", "tiny", "--compile", "off"])
    assert len(records) == 8
    assert all(r["peak_mem_gb"] is not None and r["peak_mem_gb"] > 0 for r in records)


def test_targets_pick_the_best_matching_record_and_say_what_is_missing(benchmark_module, tmp_path, capsys):
    targets = benchmark_module("targets")
    lines = [
        '[clipfit.clip] a notice line',
        json.dumps({"case": "train_step", "batch": 32, "classes": 500, "mode": "fp16", "compile": "off",
                    "share_prefix": True, "median_ms": 40.0, "peak_mem_gb": 3.5, "device": "H200"}),
        json.dumps({"case": "train_step", "batch": 32, "classes": 500, "mode": "bf16", "compile": "reduce-overhead",
                    "share_prefix": True, "median_ms": 17.5, "peak_mem_gb": 3.9, "device": "H200"}),
        json.dumps({"method": "coop", "case": "train_step", "batch": 32, "classes": 500, "mode": "fp16",
                    "median_ms": 16.0, "peak_mem_gb": 2.0}),
        json.dumps({"method": "cocoop", "case": "train_step", "batch": 4, "classes": 500, "mode": "fp16",
                    "median_ms": 40.0, "ms_per_image": 10.0, "peak_mem_gb": None}),
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n")
    results = {r["target"]: r for r in targets.main([str(path)])}
    fastest = results["CLIPFit step, 500 classes, fastest mode"]
    assert (fastest["value"], fastest["met"]) == (17.5, True)
    assert fastest["from"] == {"mode": "bf16", "compile": "reduce-overhead", "share_prefix": True}
    fp16 = results["CLIPFit step, 500 classes, fp16"]
    assert (fp16["value"], fp16["met"]) == (40.0, True)
    assert results["CLIPFit step, 500 classes, peak memory"]["value"] == 3.5
    assert results["CoOp step, 500 classes"]["met"] is False
    assert results["CoCoOp step, 500 classes, batch 4, per image"]["met"] is True
    assert results["CoCoOp step, 500 classes, batch 4, peak memory"]["met"] is None  # measured on a CPU: no memory
    assert results["Evaluation, 100 images, 1000 classes"]["value"] is None
    out = capsys.readouterr().out
    assert "CoOp step, 500 classes" in out and " NO " in out and "n/a" in out


def test_gpu_session_script_runs_every_step_in_smoke_mode(tmp_path):
    """benchmarks/gpu_session.sh with SMOKE=1: same steps and flags, tiny CLIP on the CPU (~30 s), run by the
    interpreter of this test (PYTHON) and without the GPU run's time limits."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "SMOKE": "1", "OUT": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(["bash", "benchmarks/gpu_session.sh"], cwd=root, env=env, capture_output=True, text=True)
    steps = [line for line in done.stdout.splitlines() if ": rc=" in line]
    assert [s.split(":")[0] for s in steps] == ["text_prefix", "all_fp16", "clipfit_modes", "clipfit_graphs",
                                                "baselines_graphs", "data"], done.stdout + done.stderr
    assert all(": rc=0 " in s for s in steps), done.stdout
    assert "CoOp step, 500 classes" in done.stdout
    assert (tmp_path / "targets.txt").exists() and (tmp_path / "all_fp16.jsonl").stat().st_size > 0


def test_gpu_session_script_stops_at_once_without_a_gpu(tmp_path):
    """Without a GPU (none visible: CUDA_VISIBLE_DEVICES empty) the session is one line on stderr and exit 1,
    before it writes anything or installs wheels, instead of minutes of steps that fall back or fail."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != "SMOKE"}
    env.update(OUT=str(tmp_path / "session"), PYTHON=sys.executable, CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(["bash", "benchmarks/gpu_session.sh"], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("gpu_session.sh: no CUDA GPU here")
    assert "SMOKE=1 bash benchmarks/gpu_session.sh" in done.stderr
    assert not (tmp_path / "session").exists()


def test_data_benchmark_compares_the_loaders_in_one_run(benchmark_module, capsys):
    data = benchmark_module("bench_data")
    records = data.main(["--quick", "--device", "cpu", "--workers", "0", "--cases", "train,eval"])
    assert _json_lines(capsys) == records
    assert [(r["case"], r.get("variant")) for r in records] == [
        ("train", "pil"), ("train", "decoded"), ("train", "gpu_augment"), ("train_ratio", None),
        ("eval", "pil"), ("eval", "cache"), ("eval_ratio", None),
    ]
    assert all(r["images_per_s"] > 0 for r in records if "images_per_s" in r)
    assert records[2]["loader_ms_per_image"] > 0 and records[5]["cache_mib"] > 0
    assert records[3]["decoded_vs_pil"] > 0 and records[6]["cache_vs_pil"] > 0


@pytest.mark.parametrize("script,args,message", [
    ("bench_data", ["--cases", "bogus"], "argument --cases: unknown case(s) bogus; valid: train, eval, startup"),
    ("bench_data", ["--cases", "train,evl"], "argument --cases: unknown case(s) evl; valid: train, eval, startup"),
    ("bench_data", ["--workers", "x"], "argument --workers: 'x' is not a worker count"),
    ("bench_data", ["--device", "gpu"], "argument --device: 'gpu' is not a torch device"),
    ("bench_clipfit_step", ["--cases", "bogus"], "argument --cases: unknown case(s) bogus; valid: train, eval"),
])
def test_bad_arguments_are_usage_errors_before_anything_runs(benchmark_module, capsys, script, args, message):
    with pytest.raises(SystemExit) as exited:
        benchmark_module(script).main(args)
    assert exited.value.code == 2
    printed = capsys.readouterr()
    assert printed.out == "" and message in printed.err and "Traceback" not in printed.err


@pytest.mark.parametrize("script", ["bench_data", "bench_clipfit_step", "run_all"])
def test_a_cuda_device_without_a_gpu_is_a_usage_error(benchmark_module, capsys, monkeypatch, script):
    module = benchmark_module(script)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exited:
        module.main(["--device", "cuda"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --device: 'cuda': no CUDA device (torch sees no GPU here); use --device cpu" in err


def test_data_benchmark_workers_and_the_startup_folder(benchmark_module, monkeypatch, tmp_path):
    data = benchmark_module("bench_data")
    monkeypatch.setattr(data.os, "cpu_count", lambda: 6)
    assert data.parse_workers("0, 2,cores,max,2") == [0, 2, 6]
    # The startup case's demo data lives in a temporary folder that is gone afterwards, also on an error.
    monkeypatch.setattr(data.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(data, "_startup_runs", lambda *a: (_ for _ in ()).throw(RuntimeError("child failed")))
    with pytest.raises(RuntimeError, match="child failed"):
        data.startup_case("tiny", 1, torch.device("cpu"))
    assert list(tmp_path.iterdir()) == []


def test_cli_benchmark_ratios_divide_medians_of_the_same_rounds(benchmark_module):
    cli = benchmark_module("bench_cli")
    times = {name: [0.3, 0.1, 0.2] for name in cli.COMMANDS}
    times[cli.BASELINE] = [3.0, 1.0, 2.0]
    records = cli.records(times)
    assert [r["command"] for r in records if r["case"] == "cli_start"] == list(cli.COMMANDS)
    assert records[2] == {"case": "cli_start", "command": "clipfit --help", "median_s": 0.2, "min_s": 0.1,
                          "repeats": 3}
    ratios = {r["command"]: r for r in records if r["case"] == "cli_start_ratio"}
    assert set(ratios) == set(cli.COMMANDS) - {"python -c pass", cli.BASELINE}
    assert ratios["clipfit --help"] == {"case": "cli_start_ratio", "command": "clipfit --help",
                                        "vs_import_torch": 0.1, "target_vs_import_torch": 0.2}


def test_cli_benchmark_commands_answer_as_it_expects(benchmark_module, monkeypatch):
    """Each timed command (not the slow baseline) exits as the benchmark expects; a crash is refused."""
    cli = benchmark_module("bench_cli")
    for name in cli.COMMANDS:
        if name != cli.BASELINE:
            assert cli.seconds(name) > 0
    monkeypatch.setitem(cli.COMMANDS, "broken", (["-c", "raise SystemExit(3)"], 0))
    with pytest.raises(RuntimeError, match="`broken` exited 3, not 0"):
        cli.seconds("broken")

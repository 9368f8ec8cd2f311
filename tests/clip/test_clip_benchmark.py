import json

from clipfit.clip import prompt_for, tokenize


def test_benchmark_smoke_on_cpu_with_tiny(bench, capsys):
    records = bench.main(["--quick", "--device", "cpu", "--backbone", "tiny", "--modes", "fp16,fp32"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines == records
    assert [(r["case"], r["mode"], r["effective_mode"]) for r in records] == [
        ("train_step", "fp16", "fp32"),
        ("eval_batch", "fp16", "fp32"),
        ("train_step", "fp32", "fp32"),
        ("eval_batch", "fp32", "fp32"),
    ]
    assert all(r["median_ms"] > 0 and r["peak_mem_gb"] is None for r in records)


def test_benchmark_prompts_have_realistic_lengths(bench):
    names = bench.class_names(500)
    assert len(set(names)) == 500
    lengths = tokenize([prompt_for(bench.TEMPLATE, n) for n in names]).argmax(dim=-1) + 1
    assert 14 <= lengths.float().mean() <= 20 and lengths.max() <= 24

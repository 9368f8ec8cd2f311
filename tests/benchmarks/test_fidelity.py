"""benchmarks/fidelity.py's machinery (the authors' repositories are not here: their runs are committed as JSON)."""
import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _fidelity import adapters  # noqa: E402
from _fidelity._adapter import vl_prompt_name  # noqa: E402
from _fidelity._compare import recorded, rel_diff, rel_diffs, worst  # noqa: E402
from _fidelity._measure import flops, interleaved_ms  # noqa: E402


def test_every_method_module_registers_its_adapter():
    found = adapters()
    assert {"IVLP", "KgCoOp", "MaPLe", "ProGrad", "PromptSRC"} <= set(found)
    for method, adapter in found.items():
        assert adapter.method == method and (BENCHMARKS.parent / adapter.config).is_file()
    assert found["PromptSRC"].loss_terms["kl_div#1"].startswith("logits KL")
    # ProGrad's step reports its two losses apart (no total); both take their logits from the cross-entropy call
    assert found["ProGrad"].summary_losses == ("xe_loss", "kl_loss") and found["IVLP"].summary_losses == ("loss",)
    assert found["KgCoOp"].logits_call == found["ProGrad"].logits_call == "cross_entropy#1"
    assert found["KgCoOp"].fp32_build and not found["ProGrad"].fp32_build
    from trainers.coop import PromptLearner

    assert found["KgCoOp"].our_learner() is found["ProGrad"].our_learner() is PromptLearner
    assert found["KgCoOp"].our_name("prompt_learner.ctx") == "ctx"


def _record(loss: dict, grad: float) -> dict:
    """A step record as `_run._step_record` makes it, of one trained tensor."""
    one = {"ctx": torch.tensor([grad, 1.0])}
    return {"losses": {k: torch.tensor(v) for k, v in loss.items()}, "calls": {"cross_entropy#1": torch.tensor(2.0)},
            "train_logits": torch.ones(2), "lr": 0.002, "grads": one, "momentum": one, "update": one, "after": one}


def test_a_step_without_a_total_compares_each_summary_loss():
    from _fidelity._adapter import Adapter
    from _fidelity._run import _step_diffs

    ours, theirs = _record({"xe_loss": 1.0, "kl_loss": 0.5}, 2.0), _record({"xe_loss": 1.0, "kl_loss": 0.4}, 4.0)
    two = Adapter("X", "x", "r", "c", summary_losses=("xe_loss", "kl_loss"))
    diffs = _step_diffs(ours, theirs, two)
    assert diffs["summary_losses"] == {"xe_loss": 0.0, "kl_loss": pytest.approx(0.25)}
    assert diffs["loss_total"] == pytest.approx(0.25)  # the worse of the two
    assert diffs["gradients"] == {"max": 0.5, "tensors": 1, "worst": {"ctx": 0.5}}
    one = Adapter("X", "x", "r", "c")
    diffs = _step_diffs({**ours, "losses": {"loss": torch.tensor(1.0)}},
                        {**theirs, "losses": {"loss": torch.tensor(2.0)}}, one)
    assert diffs["loss_total"] == 0.5 and "summary_losses" not in diffs


def test_the_worst_difference_counts_summary_losses_and_a_methods_own_parts():
    import fidelity

    step = {"momentum_buffers": {"max": 0.0}, "params_after": {"max": 0.0}}
    report = {"eval_logits": 0.0, "train_logits": 0.0, "loss_total": 0.0, "loss_terms": {"ce": 1e-7},
              "gradients": {"max": 2e-7}, "step": step}
    assert fidelity.max_rel_diff(report) == 2e-7
    assert fidelity.max_rel_diff({**report, "summary_losses": {"kl_loss": 3e-7}}) == 3e-7
    assert fidelity.max_rel_diff({**report, "projection": {"max_rel_diff": 4e-6, "labels": [1]}}) == 4e-6


def test_prograd_adapters_gradient_cosine_is_that_of_the_two_losses():
    from _fidelity.prograd import _cosine, _gradients

    ctx = torch.tensor([1.0, 2.0], requires_grad=True)
    g_xe, g_kl = _gradients((ctx ** 2).sum(), -ctx[0] * 3, ctx)  # gradients (2, 4) and (-3, 0)
    assert g_xe.tolist() == [2.0, 4.0] and g_kl.tolist() == [-3.0, 0.0]
    assert _cosine(g_xe, g_kl) == pytest.approx(-6 / (20 ** 0.5 * 3))


def test_their_prompt_names_map_to_ours():
    assert vl_prompt_name("prompt_learner.ctx") == "ctx" and vl_prompt_name("image_encoder.VPT") == "vision_ctx"
    assert vl_prompt_name("image_encoder.transformer.resblocks.1.VPT_shallow") == "vision_deep_ctx.0"
    assert vl_prompt_name("text_encoder.transformer.resblocks.8.VPT_shallow") == "deep_ctx.7"
    assert adapters()["MaPLe"].our_name("prompt_learner.compound_prompts_text.3") == "compound_prompts_text.3"
    with pytest.raises(KeyError, match="no counterpart"):
        vl_prompt_name("image_encoder.conv1.weight")


def test_relative_differences_are_scaled_by_the_reference():
    theirs = torch.tensor([2.0, -4.0])
    assert rel_diff(torch.tensor([2.0, -3.0]), theirs) == 0.25
    assert rel_diff(torch.zeros(2), torch.zeros(2)) == 0.0
    diffs = rel_diffs({"a": theirs, "b": theirs * 2}, {"a": theirs, "b": theirs})
    assert worst(diffs) == {"max": 1.0, "tensors": 2, "worst": {"b": 1.0, "a": 0.0}}
    with pytest.raises(ValueError, match="different tensors"):
        rel_diffs({"a": theirs}, {"b": theirs})


def test_loss_functions_are_recorded_in_call_order_and_restored():
    original = F.l1_loss
    x = torch.ones(3)
    with recorded(("l1_loss", "kl_div")) as calls:
        F.l1_loss(x, 2 * x)
        F.kl_div(x.log(), x.log(), reduction="sum", log_target=True)
        F.l1_loss(x, 4 * x)
    assert [name for name, _, _ in calls] == ["l1_loss#1", "kl_div#1", "l1_loss#2"]
    assert [float(out) for _, _, out in calls] == [1.0, 0.0, 3.0]
    assert F.l1_loss is original


def test_cpu_attention_is_counted():
    q = torch.randn(1, 2, 8, 4, requires_grad=True)
    forward = flops(lambda: F.scaled_dot_product_attention(q, q, q))
    assert forward == 2 * (2 * 1 * 2 * 8 * 8 * 4)  # q @ k.T and attn @ v
    assert flops(lambda: F.scaled_dot_product_attention(q, q, q).sum().backward()) > forward


def test_cases_are_interleaved_and_timed_apart():
    order = []
    times = interleaved_ms({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3, warmup=0)
    assert order == ["a", "b", "b", "a", "a", "b"] and times["a"]["runs"] == times["b"]["runs"] == 3


def test_not_an_authors_checkout_is_said(tmp_path, monkeypatch, capsys):
    import fidelity

    monkeypatch.setattr(sys, "path", list(sys.path))  # the benchmark puts the checkout on sys.path
    with pytest.raises(SystemExit, match="not an authors' checkout"):
        fidelity.main(["--method", "IVLP", "--authors", str(tmp_path), "--weights", str(tmp_path / "w.pt"),
                       "--no-timing"])


@pytest.mark.parametrize("method", ["IVLP", "KgCoOp", "MaPLe", "ProGrad", "PromptSRC"])
def test_committed_results_meet_the_equality_target_and_hold_trained_tensors_only(method):
    files = sorted((BENCHMARKS / "results").glob(f"fidelity-{method}-*.json"))
    assert files, f"no committed fidelity result of {method}"
    record = json.loads(files[-1].read_text())
    assert record["method"] == method and record["trainable"]["same_names_and_shapes"]
    assert record["targets"]["max_rel_diff"]["met"] and record["targets"]["checkpoint_trained_only"]


def test_prograds_committed_result_compares_a_step_where_the_projection_acts_on_the_authors_fork():
    record = json.loads(sorted((BENCHMARKS / "results").glob("fidelity-ProGrad-*.json"))[-1].read_text())
    projection = record["projection"]
    assert projection["least likely labels"]["projection_applied"] and projection["max_rel_diff"] <= 1e-5
    assert record["dassl"].endswith("Dassl.ProGrad.pytorch")  # their projection, not this engine's (ours)


def test_multihead_attentions_fast_path_counts_as_its_slow_path():
    mha = torch.nn.MultiheadAttention(64, 4, batch_first=True)
    x = torch.randn(2, 10, 64)
    slow = flops(lambda: mha(x, x, x, need_weights=False))
    mha.eval()
    with torch.no_grad():
        assert flops(lambda: mha(x, x, x, need_weights=False)) == slow == 706_560

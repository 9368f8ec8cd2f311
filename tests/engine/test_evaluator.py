import numpy as np
import pytest
import torch

from clipfit.compat import compute_accuracy
from clipfit.engine.config_defaults import get_cfg_default
from clipfit.engine.evaluation import Classification, macro_f1


def _logits(preds, n_classes):
    return torch.nn.functional.one_hot(torch.tensor(preds), n_classes).float()


def _reference_macro_f1(y_true, y_pred):
    labels = sorted(set(y_true))
    f1s = []
    for c in labels:
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred))
        fp = sum(t != c and p == c for t, p in zip(y_true, y_pred))
        fn = sum(t == c and p != c for t, p in zip(y_true, y_pred))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return sum(f1s) / len(f1s)


def test_result_block_and_values(capsys, tmp_path):
    cfg = get_cfg_default()
    cfg.OUTPUT_DIR = str(tmp_path)
    ev = Classification(cfg)
    y_true = [0, 0, 1, 1, 2, 2, 2, 0]
    y_pred = [0, 1, 1, 1, 2, 0, 3, 0]  # label 3 predicted but absent from the truth
    ev.process(_logits(y_pred, 4), torch.tensor(y_true))
    res = ev.evaluate()
    assert list(res) == ["accuracy", "error_rate", "macro_f1"]
    assert res["accuracy"] == pytest.approx(62.5)
    assert res["error_rate"] == pytest.approx(37.5)
    assert res["macro_f1"] == pytest.approx(100 * _reference_macro_f1(y_true, y_pred))
    out = capsys.readouterr().out
    assert out == (
        "=> result\n* total: 8\n* correct: 5\n* accuracy: 62.5%\n* error: 37.5%\n"
        f"* macro_f1: {res['macro_f1']:.1f}%\n"
    )


def test_thousands_separator_and_per_class(capsys, tmp_path):
    cfg = get_cfg_default()
    cfg.TEST.PER_CLASS_RESULT = True
    cfg.TEST.COMPUTE_CMAT = True
    cfg.OUTPUT_DIR = str(tmp_path)
    ev = Classification(cfg, lab2cname={0: "cat", 1: "dog"})
    y_true = torch.tensor([0] * 1500 + [1] * 500)
    preds = torch.cat([torch.zeros(1000, dtype=torch.long), torch.ones(1000, dtype=torch.long)])
    ev.process(_logits(preds.tolist(), 2), y_true)
    res = ev.evaluate()
    out = capsys.readouterr().out
    assert "* total: 2,000\n* correct: 1,500\n* accuracy: 75.0%" in out
    assert "* class: 0 (cat)\ttotal: 1,500\tcorrect: 1,000\tacc: 66.7%" in out
    assert "* average: 83.3%" in out
    assert res["perclass_accuracy"] == pytest.approx((200 / 3 + 100) / 2)
    cmat = torch.load(tmp_path / "cmat.pt", weights_only=False)
    np.testing.assert_allclose(cmat, [[2 / 3, 1 / 3], [0, 1]])


def test_macro_f1_zero_cases():
    assert macro_f1([0, 1], [1, 0]) == 0.0
    assert macro_f1([0, 0], [0, 0]) == 1.0


def test_compute_accuracy_topk():
    out = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    target = torch.tensor([1, 2, 0, 0])
    top1, top2 = compute_accuracy((out,), target, topk=(1, 2))
    assert top1.item() == pytest.approx(50.0) and top2.item() == pytest.approx(75.0)
    assert top1.shape == (1,)

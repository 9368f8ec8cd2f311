"""The `Classification` evaluator and its exact printed result block."""
from __future__ import annotations

import os
from collections import OrderedDict, defaultdict

import numpy as np
import torch

from .registry import EVALUATOR_REGISTRY, build_from_registry


def macro_f1(y_true: list[int], y_pred: list[int]) -> float:
    """Mean F1 over the labels present in `y_true` (sklearn's average="macro", labels=unique(y_true))."""
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for label in np.unique(true):
        tp = np.sum((pred == label) & (true == label))
        fp = np.sum((pred == label) & (true != label))
        fn = np.sum((pred != label) & (true == label))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(scores))


def confusion_matrix_normalized(y_true: list[int], y_pred: list[int]) -> np.ndarray:
    """Row-normalised confusion matrix over the sorted union of true and predicted labels."""
    labels = sorted(set(y_true) | set(y_pred))
    index = {label: i for i, label in enumerate(labels)}
    cmat = np.zeros((len(labels), len(labels)), dtype=np.float64)
    for t, p in zip(y_true, y_pred):
        cmat[index[t], index[p]] += 1
    rows = cmat.sum(axis=1, keepdims=True)
    return np.divide(cmat, rows, out=np.zeros_like(cmat), where=rows > 0)


class EvaluatorBase:
    def __init__(self, cfg):
        self.cfg = cfg

    def reset(self):
        raise NotImplementedError

    def process(self, mo, gt):
        raise NotImplementedError

    def evaluate(self):
        raise NotImplementedError


@EVALUATOR_REGISTRY.register()
class Classification(EvaluatorBase):
    """Accuracy, error and macro-F1 of argmax predictions, optionally per class and a confusion matrix."""

    def __init__(self, cfg, lab2cname=None, **kwargs):
        super().__init__(cfg)
        self._lab2cname = lab2cname
        self._per_class_res = None
        if cfg.TEST.PER_CLASS_RESULT:
            assert lab2cname is not None
        self.reset()

    def reset(self) -> None:
        self._correct = 0
        self._total = 0
        self._y_true: list[int] = []
        self._y_pred: list[int] = []
        if self.cfg.TEST.PER_CLASS_RESULT:
            self._per_class_res = defaultdict(list)

    def process(self, mo: torch.Tensor, gt: torch.Tensor) -> None:
        pred = mo.max(1)[1]
        matches = pred.eq(gt).int()
        self._correct += int(matches.sum().item())
        self._total += gt.shape[0]
        self._y_true.extend(gt.data.cpu().numpy().tolist())
        self._y_pred.extend(pred.data.cpu().numpy().tolist())
        if self._per_class_res is not None:
            for label, match in zip(gt.tolist(), matches.tolist()):
                self._per_class_res[label].append(match)

    def evaluate(self) -> OrderedDict:
        results = OrderedDict()
        acc = 100.0 * self._correct / self._total
        err = 100.0 - acc
        f1 = 100.0 * macro_f1(self._y_true, self._y_pred)
        results["accuracy"] = acc
        results["error_rate"] = err
        results["macro_f1"] = f1
        print(
            "=> result\n"
            f"* total: {self._total:,}\n"
            f"* correct: {self._correct:,}\n"
            f"* accuracy: {acc:.1f}%\n"
            f"* error: {err:.1f}%\n"
            f"* macro_f1: {f1:.1f}%"
        )
        if self._per_class_res is not None:
            results["perclass_accuracy"] = self._print_per_class()
        if self.cfg.TEST.COMPUTE_CMAT:
            cmat = confusion_matrix_normalized(self._y_true, self._y_pred)
            save_path = os.path.join(self.cfg.OUTPUT_DIR, "cmat.pt")
            torch.save(cmat, save_path)
            print(f"Confusion matrix is saved to {save_path}")
        return results

    def _print_per_class(self) -> float:
        print("=> per-class result")
        accs = []
        for label in sorted(self._per_class_res):
            res = self._per_class_res[label]
            correct, total = sum(res), len(res)
            acc = 100.0 * correct / total
            accs.append(acc)
            print(
                f"* class: {label} ({self._lab2cname[label]})\t"
                f"total: {total:,}\tcorrect: {correct:,}\tacc: {acc:.1f}%"
            )
        mean_acc = float(np.mean(accs))
        print(f"* average: {mean_acc:.1f}%")
        return mean_acc


def build_evaluator(cfg, **kwargs):
    return build_from_registry(EVALUATOR_REGISTRY, cfg.TEST.EVALUATOR, "evaluator", cfg.VERBOSE, cfg, **kwargs)

"""Top-k accuracy as Dassl computes it."""
from __future__ import annotations

import torch


def compute_accuracy(output, target: torch.Tensor, topk: tuple = (1,)) -> list[torch.Tensor]:
    """Percent of rows whose target is among the top-k scores, one 1-element tensor per k."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    maxk = max(topk)
    batch_size = target.size(0)
    _, pred = output.topk(maxk, 1, True, True)
    correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
    res = []
    for k in topk:
        correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
        res.append(correct_k.mul_(100.0 / batch_size))
    return res

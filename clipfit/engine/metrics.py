"""Top-k accuracy and the feature distance matrices, as Dassl computes them."""
from __future__ import annotations

import torch
import torch.nn.functional as F


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


def euclidean_squared_distance(input1: torch.Tensor, input2: torch.Tensor) -> torch.Tensor:
    """(n, m) matrix of squared L2 distances between the rows of two 2-D tensors."""
    return (input1.pow(2).sum(1, keepdim=True) + input2.pow(2).sum(1).unsqueeze(0)) - 2 * input1 @ input2.t()


def cosine_distance(input1: torch.Tensor, input2: torch.Tensor) -> torch.Tensor:
    """(n, m) matrix of 1 - cosine similarity between the rows of two 2-D tensors."""
    return 1 - F.normalize(input1, p=2, dim=1) @ F.normalize(input2, p=2, dim=1).t()


def compute_distance_matrix(input1: torch.Tensor, input2: torch.Tensor, metric: str = "euclidean") -> torch.Tensor:
    assert isinstance(input1, torch.Tensor) and isinstance(input2, torch.Tensor)
    assert input1.dim() == 2, f"Expected 2-D tensor, but got {input1.dim()}-D"
    assert input2.dim() == 2, f"Expected 2-D tensor, but got {input2.dim()}-D"
    assert input1.size(1) == input2.size(1)
    if metric == "euclidean":
        return euclidean_squared_distance(input1, input2)
    if metric == "cosine":
        return cosine_distance(input1, input2)
    raise ValueError(f'Unknown distance metric: {metric}. Please choose either "euclidean" or "cosine"')

import torch
import torch.nn as nn


class ColorNet(nn.Module):
    """Mean colour -> class scores."""

    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(3, num_classes)

    def forward(self, image):
        return self.fc(image.mean(dim=(2, 3)))

    @torch.no_grad()
    def features(self, image):
        return image.mean(dim=(2, 3))

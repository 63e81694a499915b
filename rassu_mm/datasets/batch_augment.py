"""Batched geometric and photometric augmentation of (image, dense label)
pairs, for the stand-in encoders' pretraining on sr-Music.

sr-Music has 2 to 8 pictures per class, a third of them held out, so a
model pretrained on its frames learns the pictures rather than the
instruments unless each picture is seen in many shapes and colours: random
rotation, scale, aspect and translation (one affine warp of image and
label), optionally zoomed to the labelled object's box (a "crop" view),
random channel order, grey scale and brightness/contrast/saturation.
Every random number comes from the given ``torch.Generator``.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def _uniform(gen: torch.Generator, n: int, low: float,
             high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def object_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Centre and half size of each mask's box in the ``[-1, 1]``
    coordinates of ``F.affine_grid`` (``align_corners=False``).

    Args:
        masks (Tensor): bool ``[N, H, W]``; an empty mask gives the whole
            image.

    Returns:
        Tensor: ``[N, 4]`` (cx, cy, half width, half height).
    """
    n, h, w = masks.shape
    out = torch.tensor([[0., 0., 1., 1.]]).repeat(n, 1)
    for axis, size, offset in ((1, w, 0), (2, h, 1)):
        hit = masks.any(axis)  # [N, size]
        pos = torch.arange(size).expand(n, size)
        low = torch.where(hit, pos, size).min(1).values.float()
        high = torch.where(hit, pos, -1).max(1).values.float() + 1
        found = hit.any(1)
        centre = (low + high) / size - 1
        half = (high - low) / size
        out[found, offset] = centre[found]
        out[found, offset + 2] = half[found]
    return out


def box_theta(boxes: torch.Tensor, margin: float = 1.15) -> torch.Tensor:
    """``F.affine_grid`` matrices ``[N, 2, 3]`` that map the output onto
    the square around each box (``[N, 4]`` from :func:`object_boxes`),
    ``margin`` times its longer side, at most the whole image."""
    half = (boxes[:, 2:].max(1).values * margin).clamp(max=1.)
    theta = torch.zeros(len(boxes), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = half
    theta[:, :, 2] = boxes[:, :2]
    return theta


def compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """The affine map ``outer(inner(p))``, both ``[N, 2, 3]``."""
    linear = outer[:, :, :2] @ inner[:, :, :2]
    shift = (outer[:, :, :2] @ inner[:, :, 2:])[..., 0] + outer[:, :, 2]
    return torch.cat([linear, shift[..., None]], 2)


def affine_params(n: int,
                  gen: torch.Generator,
                  max_rotation: float = 25.,
                  scale: Tuple[float, float] = (0.8, 1.25),
                  max_aspect: float = 1.2,
                  max_shift: float = 0.1,
                  boxes: Optional[torch.Tensor] = None,
                  crop_prob: float = 0.) -> torch.Tensor:
    """Sampling matrices ``[N, 2, 3]`` for ``F.affine_grid``: output
    coordinates to input coordinates. A flip, a rotation, a zoom by
    ``scale`` (> 1 enlarges the content), an aspect change and a shift;
    with probability ``crop_prob`` the output is first mapped onto the
    square around the sample's box (``boxes`` ``[N, 4]`` from
    :func:`object_boxes`, see :func:`box_theta`)."""
    angle = _uniform(gen, n, -max_rotation, max_rotation) * math.pi / 180
    zoom = torch.exp(_uniform(gen, n, -math.log(scale[1]),
                              -math.log(scale[0])))
    aspect = torch.exp(_uniform(gen, n, -math.log(max_aspect),
                                math.log(max_aspect)))
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1., 1.)
    sx, sy = zoom * aspect.sqrt() * flip, zoom / aspect.sqrt()
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * sx, -sin * sy
    theta[:, 1, 0], theta[:, 1, 1] = sin * sx, cos * sy
    theta[:, :, 2] = _uniform(gen, 2 * n, -max_shift,
                              max_shift).view(n, 2)
    if boxes is not None and crop_prob > 0:
        crop = torch.rand(n, generator=gen) < crop_prob
        # output -> the random warp -> the square around the box
        theta = torch.where(crop.view(n, 1, 1),
                            compose(box_theta(boxes), theta), theta)
    return theta


def jitter_colour(images: torch.Tensor, gen: torch.Generator,
                  strength: float = 0.4, grey_prob: float = 0.2,
                  permute_prob: float = 0.5) -> torch.Tensor:
    """Random channel order, grey scale, brightness, contrast and
    saturation of float RGB ``[N, 3, H, W]`` in 0-255; same shape."""
    n = images.shape[0]
    perm = torch.stack([torch.randperm(3, generator=gen) for _ in range(n)])
    keep = torch.rand(n, generator=gen) >= permute_prob
    perm[keep] = torch.arange(3)
    x = torch.gather(images, 1, perm.view(n, 3, 1, 1).expand_as(images))
    grey = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(
        1, keepdim=True)
    sat = _uniform(gen, n, 1 - strength, 1 + strength)
    sat[torch.rand(n, generator=gen) < grey_prob] = 0.
    x = grey + sat.view(n, 1, 1, 1) * (x - grey)
    mean = x.mean((1, 2, 3), keepdim=True)
    contrast = _uniform(gen, n, 1 - strength, 1 + strength).view(n, 1, 1, 1)
    bright = _uniform(gen, n, 1 - strength, 1 + strength).view(n, 1, 1, 1)
    x = (mean + contrast * (x - mean)) * bright
    return x.clamp(0, 255)


def warp_pairs(images: torch.Tensor, labels: torch.Tensor,
               theta: torch.Tensor, padding_mode: str = 'zeros'
               ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Resample RGB ``[N, H, W, 3]`` (bilinear) and labels ``[N, H, W]``
    (nearest, 0 outside) through ``theta`` ``[N, 2, 3]``; float images
    ``[N, 3, H, W]`` and labels of the input dtype."""
    n, h, w = labels.shape
    grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
    x = F.grid_sample(images.permute(0, 3, 1, 2).float(), grid,
                      mode='bilinear', padding_mode=padding_mode,
                      align_corners=False)
    y = F.grid_sample(labels[:, None].float(), grid, mode='nearest',
                      padding_mode='zeros', align_corners=False)[:, 0]
    return x, y.round().to(labels.dtype)


def box_crops(images: torch.Tensor, masks: torch.Tensor
              ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each image and mask zoomed onto the mask's box (:func:`box_theta`):
    RGB ``[N, H, W, 3]`` (float, 0-255) and bool ``[N, H, W]``."""
    x, y = warp_pairs(images, masks, box_theta(object_boxes(masks)))
    return x.permute(0, 2, 3, 1), y


def augment_pairs(images: torch.Tensor,
                  labels: torch.Tensor,
                  gen: torch.Generator,
                  crop_prob: float = 0.,
                  padding_mode: str = 'zeros',
                  **affine) -> Tuple[torch.Tensor, torch.Tensor]:
    """Warp and recolour images with their dense labels.

    Args:
        images (Tensor): RGB ``[N, H, W, 3]`` (uint8 or float, 0-255).
        labels (Tensor): ``[N, H, W]``, bool masks or int64 classes
            (0 outside the warped image).
        gen (torch.Generator): the source of every random number.
        crop_prob (float): probability of zooming onto the box of the
            label's non-zero pixels first.
        padding_mode (str): ``F.grid_sample``'s, for the image.
        **affine: :func:`affine_params`' ranges.

    Returns:
        tuple: float images ``[N, H, W, 3]`` in 0-255 and labels of the
        input dtype ``[N, H, W]``.
    """
    boxes = object_boxes(labels != 0) if crop_prob > 0 else None
    theta = affine_params(len(labels), gen, boxes=boxes,
                          crop_prob=crop_prob, **affine)
    x, y = warp_pairs(images, labels, theta, padding_mode)
    return jitter_colour(x, gen).permute(0, 2, 3, 1), y

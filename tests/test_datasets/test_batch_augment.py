"""rassu_mm.datasets.batch_augment: warps move images and labels alike,
crops zoom onto the object's box, colour jitter keeps what it should."""
import math

import torch

from rassu_mm.datasets.batch_augment import (affine_params, augment_pairs,
                                             box_crops, box_theta, compose,
                                             jitter_colour, object_boxes,
                                             warp_pairs)


def _rectangle_mask(n=2, size=32, box=(4, 10, 12, 28)):
    """bool [n, size, size] with rows box[0]:box[1], cols box[2]:box[3]."""
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    masks[:, box[0]:box[1], box[2]:box[3]] = True
    return masks


def test_object_boxes_in_affine_grid_coordinates():
    masks = _rectangle_mask()
    masks[1] = False
    boxes = object_boxes(masks)
    # cols 12..28 of 32: centre (12 + 28) / 32 - 1, half width 16 / 32
    assert torch.allclose(boxes[0], torch.tensor([0.25, -0.5625, 0.5,
                                                  0.1875]))
    # an empty mask means the whole image
    assert torch.equal(boxes[1], torch.tensor([0., 0., 1., 1.]))


def test_identity_warp_returns_the_input():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (3, 16, 16, 3), generator=gen,
                           dtype=torch.uint8)
    labels = torch.randint(0, 5, (3, 16, 16), generator=gen)
    theta = torch.eye(2, 3).repeat(3, 1, 1)
    x, y = warp_pairs(images, labels, theta)
    assert torch.allclose(x.permute(0, 2, 3, 1), images.float(), atol=1e-2)
    assert torch.equal(y, labels)


def test_quarter_turn_moves_image_and_labels_alike():
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (2, 8, 8, 3), generator=gen).float()
    labels = torch.randint(0, 4, (2, 8, 8), generator=gen)
    theta = torch.tensor([[0., -1., 0.], [1., 0., 0.]]).repeat(2, 1, 1)
    x, y = warp_pairs(images, labels, theta)
    # output (u, v) samples input (-v, u): a quarter turn of the grid
    turned = torch.rot90(labels, 1, (1, 2))
    assert torch.equal(y, turned)
    assert torch.allclose(x, torch.rot90(images, 1, (1, 2)).permute(
        0, 3, 1, 2), atol=1e-3)


def test_compose_applies_inner_then_outer():
    gen = torch.Generator().manual_seed(2)
    outer, inner = torch.randn(4, 2, 3, generator=gen), torch.randn(
        4, 2, 3, generator=gen)
    p = torch.randn(4, 2, generator=gen)

    def apply(t, q):
        return (t[:, :, :2] @ q[..., None])[..., 0] + t[:, :, 2]

    assert torch.allclose(apply(compose(outer, inner), p),
                          apply(outer, apply(inner, p)), atol=1e-5)


def test_box_crop_zooms_onto_the_object():
    masks = _rectangle_mask(n=1, box=(8, 24, 8, 24))  # a 16x16 square
    images = masks[..., None].float().expand(-1, -1, -1, 3) * 200
    x, y = box_crops(images, masks)
    # the square fills 1 / margin of each side of the crop
    assert torch.allclose(box_theta(object_boxes(masks))[0, 0, 0],
                          torch.tensor(0.5 * 1.15))
    side = 32 / 1.15
    assert abs(y.float().sum().item() - side**2) <= 2 * 32
    assert torch.equal(x[..., 0] > 100, y)


def test_affine_params_ranges_hold():
    gen = torch.Generator().manual_seed(3)
    theta = affine_params(2000, gen, max_rotation=30., scale=(0.8, 1.25),
                          max_aspect=1., max_shift=0.1)
    # without an aspect change each matrix is a flip/rotation times 1/zoom
    det = torch.linalg.det(theta[:, :, :2]).abs()
    assert det.min() >= (1 / 1.25)**2 - 1e-5
    assert det.max() <= (1 / 0.8)**2 + 1e-5
    assert theta[:, :, 2].abs().max() <= 0.1
    # zoom * (sin, cos) in the second row, cos > 0 within 30 degrees
    angle = torch.atan2(theta[:, 1, 0].abs(), theta[:, 1, 1])
    assert angle.abs().max() <= math.radians(30) + 1e-5


def test_channel_permutation_keeps_each_pixels_values():
    gen = torch.Generator().manual_seed(4)
    images = torch.rand(6, 3, 5, 5, generator=gen) * 255
    out = jitter_colour(images, gen, strength=0., grey_prob=0.,
                        permute_prob=1.)
    assert torch.allclose(out.sort(1).values, images.sort(1).values,
                          atol=1e-3)
    same = jitter_colour(images, gen, strength=0., grey_prob=0.,
                         permute_prob=0.)
    assert torch.allclose(same, images, atol=1e-3)


def test_grey_scale_has_equal_channels():
    gen = torch.Generator().manual_seed(5)
    images = torch.rand(4, 3, 5, 5, generator=gen) * 255
    out = jitter_colour(images, gen, strength=0., grey_prob=1.,
                        permute_prob=0.)
    assert torch.allclose(out[:, 0], out[:, 1], atol=1e-4)
    assert torch.allclose(out[:, 1], out[:, 2], atol=1e-4)


def test_augment_pairs_is_deterministic_per_generator():
    masks = _rectangle_mask(n=4)
    images = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8)
    runs = [
        augment_pairs(images, masks, torch.Generator().manual_seed(7),
                      crop_prob=0.5) for _ in range(2)
    ]
    assert torch.equal(runs[0][0], runs[1][0])
    assert torch.equal(runs[0][1], runs[1][1])
    assert runs[0][0].shape == (4, 32, 32, 3)
    assert runs[0][1].dtype == torch.bool
    assert runs[0][0].min() >= 0 and runs[0][0].max() <= 255

"""Object shapes of annotation exports -> boolean masks ``[H, W]``.

Coordinates are in pixels with pixel ``(x, y)`` covering
``[x, x + 1) x [y, y + 1)`` (COCO and CVAT). Polygons and boxes are
rasterised by ``pycocotools`` as COCO does, so a box or an axis-aligned
polygon covers exactly the pixels whose centres lie inside it. Every
function raises ``ValueError`` with a short reason on malformed input.
"""
import math
from typing import Sequence

import numpy as np
import pycocotools.mask as mask_utils


def polygons_mask(polygons: Sequence[Sequence[float]], height: int,
                  width: int) -> np.ndarray:
    """Union of polygons ``[[x0, y0, x1, y1, ...], ...]``: bool ``[H, W]``."""
    polys = []
    for poly in polygons:
        coords = [float(v) for v in poly]
        if len(coords) < 6 or len(coords) % 2:
            raise ValueError(f'a polygon needs 3 or more (x, y) points, got '
                             f'{len(coords)} numbers')
        polys.append(coords)
    if not polys:
        return np.zeros((height, width), bool)
    rles = mask_utils.frPyObjects(polys, height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def box_polygon(xtl: float, ytl: float, xbr: float, ybr: float,
                rotation: float = 0.0) -> list:
    """Corners of a box, rotated ``rotation`` degrees clockwise about its
    centre (CVAT's convention), as one flat polygon."""
    if xbr < xtl or ybr < ytl:
        raise ValueError(f'box corners out of order: ({xtl}, {ytl}) to '
                         f'({xbr}, {ybr})')
    cx, cy = (xtl + xbr) / 2, (ytl + ybr) / 2
    cos, sin = math.cos(math.radians(rotation)), math.sin(
        math.radians(rotation))
    poly = []
    for x, y in ((xtl, ytl), (xbr, ytl), (xbr, ybr), (xtl, ybr)):
        dx, dy = x - cx, y - cy
        poly += [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]
    return poly


def ellipse_polygon(cx: float, cy: float, rx: float, ry: float,
                    rotation: float = 0.0, num: int = 72) -> list:
    """An ellipse (radii ``rx``, ``ry``, turned ``rotation`` degrees
    clockwise) as a flat polygon of ``num`` points."""
    if rx <= 0 or ry <= 0:
        raise ValueError(f'ellipse radii must be positive, got {rx}, {ry}')
    t = np.linspace(0, 2 * np.pi, num, endpoint=False)
    dx, dy = rx * np.cos(t), ry * np.sin(t)
    cos, sin = math.cos(math.radians(rotation)), math.sin(
        math.radians(rotation))
    xs, ys = cx + dx * cos - dy * sin, cy + dx * sin + dy * cos
    return np.stack([xs, ys], 1).ravel().tolist()


def coco_segmentation_mask(seg, height: int, width: int) -> np.ndarray:
    """A COCO / YouTube-VIS segmentation: polygons (list of flat lists),
    uncompressed RLE (``counts`` list) or compressed RLE (``counts``
    string), the RLEs with ``size == [height, width]``: bool ``[H, W]``."""
    if isinstance(seg, list):
        return polygons_mask(seg, height, width)
    if not isinstance(seg, dict) or 'counts' not in seg:
        raise ValueError('a segmentation must be a polygon list or an RLE '
                         f"dict with 'counts', got {type(seg).__name__}")
    size = list(seg.get('size', []))
    if size != [height, width]:
        raise ValueError(f'RLE size {size} differs from the video size '
                         f'{[height, width]}')
    counts = seg['counts']
    if isinstance(counts, list):
        if sum(counts) != height * width:
            raise ValueError(f'RLE counts sum to {sum(counts)}, not '
                             f'{height} x {width}')
        rle = mask_utils.frPyObjects(seg, height, width)
    elif isinstance(counts, str):
        rle = dict(size=size, counts=counts.encode('ascii'))
    else:
        raise ValueError('RLE counts must be a list or a string')
    return mask_utils.decode(rle).astype(bool)


def cvat_rle_mask(rle: str, left: int, top: int, box_width: int,
                  box_height: int, height: int, width: int) -> np.ndarray:
    """A CVAT ``<mask>``: run lengths over its box in row-major order,
    starting with a background run: bool ``[H, W]``."""
    try:
        counts = [int(v) for v in rle.split(',')]
    except ValueError:
        raise ValueError(f'mask rle is not a list of integers: {rle[:40]!r}')
    if any(c < 0 for c in counts) or sum(counts) != box_width * box_height:
        raise ValueError(f'mask rle counts sum to {sum(counts)}, not its box '
                         f'{box_width} x {box_height}')
    if left < 0 or top < 0 or left + box_width > width or \
            top + box_height > height:
        raise ValueError(f'mask box {box_width}x{box_height} at ({left}, '
                         f'{top}) leaves the {width}x{height} frame')
    values = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    mask = np.zeros((height, width), bool)
    mask[top:top + box_height, left:left + box_width] = values.reshape(
        box_height, box_width)
    return mask

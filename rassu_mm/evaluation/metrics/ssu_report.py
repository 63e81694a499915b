"""Per-category and per-super-category breakdown of SSUMetric."""
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist
from prettytable import PrettyTable

from ..functional import binary_scores, score_captions

_COLUMNS = ('clips', 'frames', 'mIoU', 'F-score', 'captions', 'BLEU-1',
            'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR', 'ROUGE-L', 'CIDEr')


def category_groups(results: List[dict],
                    dataset_meta: dict) -> Dict[str, Dict[str, List[int]]]:
    """Indices of the clips of every category and super-category.

    A clip belongs to each of its ``categories`` and to every
    super-category (``dataset_meta['super_categories']``, a dict of
    super-category -> classes) that contains one of them.

    Args:
        results (list[dict]): Per-clip results with ``categories``.
        dataset_meta (dict): The dataset's metainfo.

    Returns:
        dict: ``categories`` and ``super_categories``, each an ordered
        dict of name -> clip indices (dataset class order first).
    """
    order = {c: i for i, c in enumerate(dataset_meta.get('classes', ()))}
    categories = {}
    for i, r in enumerate(results):
        for c in dict.fromkeys(r['categories']):
            categories.setdefault(c, []).append(i)
    categories = dict(
        sorted(
            categories.items(),
            key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    supers = {}
    for name, members in dataset_meta.get('super_categories', {}).items():
        clips = sorted({i for c in members for i in categories.get(c, [])})
        if clips:
            supers[name] = clips
    return dict(categories=categories, super_categories=supers)


def breakdown_table(rows: Dict[str, dict]) -> str:
    """Format ``{name: {column: value}}`` as a table (scores x 100)."""
    columns = [c for c in _COLUMNS if any(c in r for r in rows.values())]
    table = PrettyTable(['name', *columns])
    for name, row in rows.items():
        cells = []
        for c in columns:
            value = row.get(c, '-')
            cells.append(
                f'{100 * value:.2f}' if isinstance(value, float) else value)
        table.add_row([name, *cells])
    return table.get_string()


def group_scores(clips: List[int], frames: dict, captions: Optional[dict],
                 beta2: float, use_java: bool) -> dict:
    """Scores of a group of clips, each as :class:`SSUMetric` computes it
    for the whole split, restricted to the group's frames.

    Args:
        clips (list[int]): Indices of the clips of the group.
        frames (dict): Per-frame table (``clip``, ``inter``, ``union``,
            ``hist``) of the frames with a mask; empty without masks.
        captions (dict, optional): ``clip`` ``[N]`` and tokenised ``preds``
            and ``refs`` of the captioned frames.
        beta2 (float): ``beta^2`` of the F-score.
        use_java (bool): Compute METEOR.

    Returns:
        dict: ``clips``, ``frames`` (frames with a mask), ``mIoU`` and
        ``F-score`` (when one of them has a mask), ``captions`` (frames
        with a reference caption) and, when there is one, the caption
        scores.
    """
    row = dict(clips=len(clips))
    if frames:
        keep = np.isin(frames['clip'], clips)
        row['frames'] = int(keep.sum())
        if keep.any():
            row['mIoU'], row['F-score'] = binary_scores(
                frames['inter'][keep], frames['union'][keep],
                frames['hist'][keep], beta2)
    if captions is not None:
        keep = np.flatnonzero(np.isin(captions['clip'], clips))
        row['captions'] = len(keep)
        if len(keep):
            row.update(
                score_captions([captions['preds'][j] for j in keep],
                               [captions['refs'][j] for j in keep],
                               use_java))
    return row


def category_breakdown(results: List[dict], frames: dict,
                       captions: Optional[dict], dataset_meta: dict,
                       beta2: float, use_java: bool) -> dict:
    """Scores of the clips of each category and super-category
    (:func:`group_scores`).

    Args:
        results (list[dict]): Per-clip results of ``SSUMetric.process``.
        frames, captions, beta2, use_java: See :func:`group_scores`.
        dataset_meta (dict): The dataset's metainfo.

    Returns:
        dict: ``categories`` and ``super_categories``, each name -> row
        of :func:`group_scores`.
    """
    return {
        level: {
            name: group_scores(clips, frames, captions, beta2, use_java)
            for name, clips in members.items()
        }
        for level, members in category_groups(results,
                                              dataset_meta).items()
    }


def clip_table(results: List[dict], frames: dict, captions: Optional[dict],
               beta2: float, use_java: bool) -> List[dict]:
    """One row per clip: its id, categories, captions and scores.

    Args:
        results (list[dict]): Per-clip results of ``SSUMetric.process``.
        frames, captions, beta2, use_java: See :func:`group_scores`.

    Returns:
        list[dict]: ``clip_id``, ``categories``, ``num_frames``,
        ``pred_captions`` and ``gt_captions`` (``T`` each, when predicted)
        and the :func:`group_scores` of the clip alone (without
        ``clips``), in dataset order.
    """
    rows = []
    for i, r in enumerate(results):
        row = dict(
            clip_id=r['clip_id'],
            categories=r['categories'],
            num_frames=r['num_frames'])
        for key in ('pred_captions', 'gt_captions'):
            if key in r:
                row[key] = r[key]
        scores = group_scores([i], frames, captions, beta2, use_java)
        del scores['clips']
        rows.append({**row, **scores})
    return rows


def save_report(report: dict, out_dir: str) -> None:
    """Log the breakdown tables; write ``<out_dir>/ssu_breakdown.json``
    (skipped when ``out_dir`` is empty)."""
    for level, title in (('categories', 'category'),
                         ('super_categories', 'super-category')):
        if report.get(level):
            print_log(
                f'per-{title} results:\n' + breakdown_table(report[level]),
                logger='current')
    if out_dir:
        mkdir_or_exist(out_dir)
        path = osp.join(out_dir, 'ssu_breakdown.json')
        with open(path, 'w') as f:
            json.dump(report, f, indent=2)
        print_log(f'per-category results saved to {path}', logger='current')

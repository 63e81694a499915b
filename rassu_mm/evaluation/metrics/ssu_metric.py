"""SSUMetric: masks (mIoU, F-score) and captions of every frame, one pass."""
import json
import logging
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist
from mmseg.registry import METRICS

from rassu_mm.utils.paths import safe_join
from rassu_mm.utils.seg_modes import seg_mode_of
from ..functional import (avsbench_batch_scores, avss_class_scores,
                          binary_frame_stats, binary_scores, java_available,
                          score_captions, semantic_frame_stats,
                          tokenize_captions)
from .ssu_report import category_breakdown, clip_table, save_report

_NO_JAVA_WARNED = False


def _warn_no_java() -> None:
    """Say once per process that METEOR and the official tokenizer need
    Java."""
    global _NO_JAVA_WARNED
    if not _NO_JAVA_WARNED:
        _NO_JAVA_WARNED = True
        print_log(
            'No Java runtime found (`java` on PATH): METEOR is left out and '
            'captions are tokenised with rassu_mm\'s Python approximation of '
            'the PTB tokenizer, so BLEU/ROUGE-L/CIDEr may differ slightly '
            'from the official numbers. Install a Java runtime (e.g. '
            '`apt-get install default-jre`) for METEOR and the official '
            'tokenisation.',
            logger='current',
            level=logging.WARNING)


def ssu_score(metrics: Dict[str, float]) -> float:
    """One score of both halves of the task, for checkpoint selection.

    ``(mIoU + F-score + caption) / 3`` with ``caption = (BLEU-4 +
    ROUGE-L) / 2``; without captions ``(mIoU + F-score) / 2``. All terms
    lie in [0, 1], so masks and captions weigh the same. BLEU-4 and ROUGE-L
    are always computed, while METEOR needs Java and a score must not
    change meaning with the machine; CIDEr is unbounded (about 6 on the
    demo set, below 1 on real data), so no fixed scale would keep it
    comparable to the mask scores.

    Args:
        metrics (dict[str, float]): ``mIoU``, ``F-score`` and, optionally,
            ``BLEU-4`` and ``ROUGE-L``.

    Returns:
        float: The score in [0, 1].
    """
    terms = [metrics['mIoU'], metrics['F-score']]
    if 'BLEU-4' in metrics:
        terms.append((metrics['BLEU-4'] + metrics['ROUGE-L']) / 2)
    return float(np.mean(terms))


@METRICS.register_module()
class SSUMetric(BaseMetric):
    """Combined evaluator of region-aware sound source understanding.

    The mode is the dataset's: ``dataset_meta['seg_mode']`` (written by
    :class:`~rassu_mm.datasets.SSUDataset`, set by the runner's evaluator).

    Binary mode (``seg_mode='binary'``) returns ``mIoU`` and ``F-score`` in
    the AVSBench convention, computed from ``sigmoid(seg_logits)``:

    - ``mIoU``: mean over frames of the IoU of ``prob > 0.5`` with the
      ground truth; a frame with empty ground truth scores the agreement on
      background (true-negative pixels / all pixels).
    - ``F-score``: max over 255 thresholds of the mean F_beta
      (``beta^2 = 0.3``) over the frames with non-empty ground truth of the
      whole split. ``avsbench_compat=True`` instead averages the per-batch
      values of ``avsbench_batch_size`` clips, as AVSBench's test script.

    Semantic mode (``seg_mode='semantic'``, labels 0 = background,
    ``k`` = ``classes[k - 1]``) follows AVSS: ``IoU.<class>`` and
    ``F-score.<class>`` per label (background included), ``mIoU`` and
    ``F-score`` their means over the labels that occur, ``mIoU-noBg`` and
    ``F-score-noBg`` the same without background, and ``mIoU-binary`` /
    ``F-score-binary`` the sounding-vs-silent scores of binary mode.

    With ``pred_captions`` in the predictions it adds ``BLEU-1``..``BLEU-4``,
    ``METEOR``, ``ROUGE-L`` and ``CIDEr`` (pycocoevalcap) over all
    (clip, frame) pairs with a reference caption. Without Java METEOR is
    left out (see :mod:`rassu_mm.evaluation.functional.caption_scores`).

    ``ssu_score`` (:func:`ssu_score`), the checkpoint selection score of the
    configs, averages the mask and caption scores.

    Frames without a ground-truth mask (all pixels ``ignore_index``) or
    without a reference caption are left out of the respective scores and
    counted in the log. A per-category and per-super-category breakdown is
    printed and written to ``ssu_breakdown.json`` in ``output_dir`` or,
    without it, in the runner's log directory (``work_dir/<timestamp>``).

    Args:
        ignore_index (int): Ground-truth label left out. Defaults to 255.
        beta2 (float): ``beta^2`` of the F-scores. Defaults to 0.3.
        avsbench_compat (bool): Average per-batch mIoU/F-score like
            AVSBench (binary scores only; needs an unshuffled test loader).
            Defaults to False.
        avsbench_batch_size (int): Clips per batch in that mode.
            Defaults to 1 (AVSBench's ``--test_batch_size``).
        per_category (bool): Compute the breakdown. Defaults to True.
        output_dir (str, optional): Write the predicted masks to
            ``<output_dir>/<clip_id>/<k>.png`` (binary: 0/255; semantic:
            label index) and ``captions.json`` (``[{clip_id, frame, pred,
            ref}]``); a clip id that would leave ``output_dir`` (e.g.
            ``'../x'``) raises :class:`~rassu_mm.utils.UnsafePathError`.
            Defaults to None.
        keep_results (bool): Write the predictions (masks and
            ``captions.json``) to ``output_dir``; False writes only the
            breakdown there. MMSegmentation's ``tools/test.py --out`` sets
            it with ``output_dir``. Defaults to True.
        format_only (bool): Only write the predictions to ``output_dir``,
            without ground truth or scores (e.g. a test set whose labels are
            withheld); needs ``output_dir``. Defaults to False.
        clip_scores_dir (str, optional): Write ``clip_scores.json`` there:
            the split's metrics and, per clip, its id, categories, captions
            and the scores of its frames alone (the same functions as for
            the split; binary mIoU and F-score in either mode), which
            ``tools/test.py --show-dir`` turns into a page
            (:class:`~rassu_mm.visualization.SSUResultsPageHook`). Defaults
            to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to
            None.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 beta2: float = 0.3,
                 avsbench_compat: bool = False,
                 avsbench_batch_size: int = 1,
                 per_category: bool = True,
                 output_dir: Optional[str] = None,
                 keep_results: bool = True,
                 format_only: bool = False,
                 clip_scores_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        assert avsbench_batch_size >= 1
        if format_only and (output_dir is None or not keep_results):
            raise ValueError('SSUMetric(format_only=True) writes the '
                             'predictions: it needs output_dir and '
                             'keep_results=True')
        self.ignore_index = ignore_index
        self.beta2 = beta2
        self.avsbench_compat = avsbench_compat
        self.avsbench_batch_size = avsbench_batch_size
        self.per_category = per_category
        self.output_dir = output_dir
        self.keep_results = keep_results
        self.format_only = format_only
        self.clip_scores_dir = clip_scores_dir

    @property
    def seg_mode(self) -> str:
        """``'binary'`` or ``'semantic'``: ``dataset_meta['seg_mode']``."""
        return seg_mode_of(self.dataset_meta, type(self).__name__)

    @property
    def label_names(self) -> List[str]:
        """Semantic labels: ``background`` then the dataset classes."""
        classes = (self.dataset_meta or {}).get('classes')
        assert classes, 'semantic mode needs dataset_meta["classes"]'
        return ['background', *classes]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Reduce each predicted clip to compact per-frame statistics.

        Args:
            data_batch (dict): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): ``SSUDataSample.to_dict()`` of
                each clip: ``pred_sem_seg`` ``[T, H, W]``, ``seg_logits``
                ``[T, H, W]`` (optional; else ``pred_sem_seg > 0`` is the
                probability), ``gt_sem_seg`` ``[T, H, W]`` (optional),
                ``pred_captions``/``gt_captions`` (``T`` each, optional),
                ``clip_id``, ``categories``.
        """
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data']
            result = dict(
                clip_id=sample['clip_id'],
                categories=list(sample.get('categories', [])),
                num_frames=pred.shape[0])
            if 'gt_sem_seg' in sample and not self.format_only:
                gt = sample['gt_sem_seg']['data'].to(pred.device)
                if 'seg_logits' in sample:
                    probs = sample['seg_logits']['data'].float().sigmoid()
                else:
                    probs = (pred > 0).float()
                result.update(binary_frame_stats(probs, gt, self.ignore_index))
                if self.seg_mode == 'semantic':
                    result.update(
                        semantic_frame_stats(pred, gt, len(self.label_names),
                                             self.ignore_index))
            if 'pred_captions' in sample:
                result['pred_captions'] = list(sample['pred_captions'])
                result['gt_captions'] = list(
                    sample.get('gt_captions', [None] * pred.shape[0]))
            if self.output_dir is not None and self.keep_results:
                self._save_masks(sample['clip_id'], pred)
            self.results.append(result)

    def _save_masks(self, clip_id: str, pred: torch.Tensor) -> None:
        """Write ``[T, H, W]`` predicted labels as one PNG per frame."""
        masks = pred.cpu().numpy().astype(np.uint8)
        if self.seg_mode == 'binary':
            masks = masks * 255
        for k, mask in enumerate(masks):
            # a clip id such as '../../x' is refused, never written outside
            mmcv.imwrite(mask, safe_join(self.output_dir, clip_id, f'{k}.png'))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics from the collected per-clip statistics.

        Args:
            results (list): One dict per clip from :meth:`process`, in
                dataset order.

        Returns:
            dict[str, float]: The metrics (see the class docstring).
        """
        metrics = OrderedDict()
        if self.format_only:
            self._save_captions(results)
            self._save_clip_scores(results, {}, None, metrics, False)
            print_log(f'format_only: predictions of {len(results)} clips '
                      f'written to {self.output_dir}', logger='current')
            return metrics
        frames = self._frame_table(results)
        if frames:
            metrics.update(self._mask_metrics(frames))
        captions = self._caption_pairs(results)
        use_java = java_available()
        if captions is not None:
            if not use_java:
                _warn_no_java()
            preds, refs = zip(*captions['pairs'])
            tokens = tokenize_captions(preds + refs, use_java)
            captions.update(
                preds=tokens[:len(preds)], refs=tokens[len(preds):])
            metrics.update(
                score_captions(captions['preds'], captions['refs'], use_java))
        if frames:
            metrics['ssu_score'] = ssu_score(metrics)
        if self.per_category:
            report = category_breakdown(results, frames, captions,
                                        self.dataset_meta or {}, self.beta2,
                                        use_java)
            report.update(
                tokenizer='ptb-java' if use_java else 'python',
                metrics=dict(metrics))
            save_report(
                report, self.output_dir or osp.dirname(
                    MMLogger.get_current_instance().log_file or ''))
        if self.output_dir is not None and self.keep_results:
            self._save_captions(results)
        self._save_clip_scores(results, frames, captions, metrics, use_java)
        return metrics

    def _save_clip_scores(self, results: list, frames: dict,
                          captions: Optional[dict], metrics: dict,
                          use_java: bool) -> None:
        """Write ``clip_scores.json`` (see ``clip_scores_dir``)."""
        if self.clip_scores_dir is None:
            return
        meta = self.dataset_meta or {}
        table = dict(
            seg_mode=self.seg_mode,
            metrics=dict(metrics),
            super_categories=meta.get('super_categories', {}),
            clips=clip_table(results, frames, captions, self.beta2,
                             use_java))
        mkdir_or_exist(self.clip_scores_dir)
        path = osp.join(self.clip_scores_dir, 'clip_scores.json')
        with open(path, 'w') as f:
            json.dump(table, f, indent=1)
        print_log(f'per-clip scores saved to {path}', logger='current')

    def _frame_table(self, results: list) -> dict:
        """Concatenate the per-frame statistics of all clips.

        Returns:
            dict: ``clip`` ``[F]`` (clip index of each frame) and, when
            masks were scored, ``inter``, ``union``, ``hist`` (semantic:
            also ``area_*``) of the ``F`` frames that have a mask.
        """
        seg = [i for i, r in enumerate(results) if 'hist' in r]
        if not seg:
            return {}
        clip = np.concatenate(
            [np.full(results[i]['num_frames'], i) for i in seg])
        valid = np.concatenate([results[i]['num_valid'] for i in seg]) > 0
        missing = int((~valid).sum())
        missing += sum(r['num_frames'] for r in results if 'hist' not in r)
        if missing:
            print_log(
                f'{missing} frames have no ground-truth mask and are left '
                'out of the mask metrics.',
                logger='current')
        keys = ['inter', 'union', 'hist']
        if self.seg_mode == 'semantic':
            keys += ['area_inter', 'area_pred', 'area_gt']
        table = {
            k: np.concatenate([results[i][k] for i in seg])[valid]
            for k in keys
        }
        table['clip'] = clip[valid]
        return table

    def _mask_metrics(self, frames: dict) -> Dict[str, float]:
        """Binary (and semantic) mask scores of the whole split."""
        if frames['clip'].size == 0:
            return {}
        inter, union, hist = frames['inter'], frames['union'], frames['hist']
        if self.avsbench_compat:
            batch = frames['clip'] // self.avsbench_batch_size
            sizes = np.bincount(batch)
            miou, fscore = avsbench_batch_scores(inter, union, hist,
                                                 sizes[sizes > 0], self.beta2)
        else:
            miou, fscore = binary_scores(inter, union, hist, self.beta2)
        if self.seg_mode == 'binary':
            return {'mIoU': miou, 'F-score': fscore}
        scores = avss_class_scores(frames['area_inter'], frames['area_pred'],
                                   frames['area_gt'], self.beta2)
        iou, f = scores['iou'], scores['fscore']
        metrics = {
            'mIoU': float(np.nanmean(iou)),
            'F-score': float(np.nanmean(f)),
            'mIoU-noBg': float(np.nanmean(iou[1:])),
            'F-score-noBg': float(np.nanmean(f[1:])),
            'mIoU-binary': miou,
            'F-score-binary': fscore,
        }
        for name, i, fs in zip(self.label_names, iou, f):
            if not np.isnan(i):
                metrics[f'IoU.{name}'] = float(i)
                metrics[f'F-score.{name}'] = float(fs)
        return metrics

    def _caption_pairs(self, results: list) -> Optional[dict]:
        """(prediction, reference) pairs of the frames with a reference.

        Returns:
            dict or None: ``pairs`` (list of ``(pred, ref)``) and ``clip``
            (``[N]`` clip index of each pair); None without any pair.
        """
        pairs, clip, total = [], [], 0
        for i, r in enumerate(results):
            for pred, ref in zip(
                    r.get('pred_captions', []), r.get('gt_captions', [])):
                total += 1
                if ref is not None and ref.strip():
                    pairs.append((pred, ref))
                    clip.append(i)
        if total - len(pairs):
            print_log(
                f'{total - len(pairs)} of {total} frames have no reference '
                'caption and are left out of the caption metrics.',
                logger='current')
        if not pairs:
            return None
        return dict(pairs=pairs, clip=np.array(clip))

    def _save_captions(self, results: list) -> None:
        """Write ``captions.json``: one entry per predicted frame caption."""
        entries = [
            dict(clip_id=r['clip_id'], frame=k, pred=pred, ref=ref)
            for r in results if 'pred_captions' in r
            for k, (pred, ref) in enumerate(
                zip(r['pred_captions'], r['gt_captions']))
        ]
        mkdir_or_exist(self.output_dir)
        with open(osp.join(self.output_dir, 'captions.json'), 'w') as f:
            json.dump(entries, f, indent=1)

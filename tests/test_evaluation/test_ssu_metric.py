"""SSUMetric against independent computations on the same inputs.

Mask scores are compared with a direct transcription of AVSBench's
``mask_iou`` / ``Eval_Fmeasure`` (avs_scripts/avs_s4/utils/utility.py),
caption scores with direct pycocoevalcap calls on the same strings, and
semantic scores with hand-computed values.
"""
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from rassu_mm.evaluation import SSUMetric
from rassu_mm.evaluation.functional import (caption_scores,
                                            python_ptb_tokenize, shared_meteor)
from rassu_mm.evaluation.metrics import ssu_metric
from rassu_mm.structures import SSUDataSample

META = dict(
    seg_mode='binary',
    classes=('violin', 'flute', 'drum'),
    super_categories=dict(
        String=['violin'], Wind=['flute'], Percussion=['drum']))


def make_clip(clip_id,
              logits,
              gt,
              pred=None,
              pred_captions=None,
              gt_captions=None,
              categories=()):
    """An ``SSUDataSample`` of one clip as a model's ``predict`` returns it.

    Args:
        logits (Tensor): ``[T, H, W]`` float seg logits (or None).
        gt (Tensor): ``[T, H, W]`` long ground truth (or None).
        pred (Tensor, optional): ``[T, H, W]`` labels; default
            ``logits > 0``.
    """
    sample = SSUDataSample(
        metainfo=dict(clip_id=clip_id, num_frames=len(logits)))
    sample.pred_sem_seg = PixelData(
        data=(logits > 0).long() if pred is None else pred)
    if logits is not None:
        sample.seg_logits = PixelData(data=logits)
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=gt)
    if pred_captions is not None:
        sample.pred_captions = pred_captions
        sample.gt_captions = gt_captions
    sample.categories = list(categories)
    return sample


def evaluate(metric, samples, meta=META):
    """Run a metric as mmengine's Evaluator does (dicts, then evaluate)."""
    metric.dataset_meta = meta
    metric.process({}, [s.to_dict() for s in samples])
    return metric.evaluate(len(samples))


# --- AVSBench (avs_scripts/avs_s4/utils/utility.py), transcribed directly --
def avs_mask_iou(pred, target, eps=1e-7):
    """``mask_iou``: pred logits and float target, both ``[N, H, W]``."""
    n = pred.size(0)
    num_pixels = pred.size(-1) * pred.size(-2)
    no_obj_flag = target.sum(2).sum(1) == 0
    pred = (torch.sigmoid(pred) > 0.5).int()
    inter = (pred * target).sum(2).sum(1)
    union = torch.max(pred, target).sum(2).sum(1)
    inter_no_obj = ((1 - target) * (1 - pred)).sum(2).sum(1)
    inter[no_obj_flag] = inter_no_obj[no_obj_flag]
    union[no_obj_flag] = num_pixels
    return (torch.sum(inter / (union + eps)) / n).item()


def _avs_eval_pr(y_pred, y, num):
    prec, recall = torch.zeros(num), torch.zeros(num)
    thlist = torch.linspace(0, 1 - 1e-10, num)
    for i in range(num):
        y_temp = (y_pred >= thlist[i]).float()
        tp = (y_temp * y).sum()
        prec[i] = tp / (y_temp.sum() + 1e-20)
        recall[i] = tp / (y.sum() + 1e-20)
    return prec, recall


def avs_eval_fmeasure(pred, gt, pr_num=255):
    """``Eval_Fmeasure``: pred logits and float gt, both ``[N, H, W]``."""
    pred = torch.sigmoid(pred)
    beta2 = 0.3
    avg_f, img_num = 0.0, 0
    score = torch.zeros(pr_num)
    for img_id in range(pred.size(0)):
        if torch.mean(gt[img_id]) == 0.0:
            continue
        prec, recall = _avs_eval_pr(pred[img_id], gt[img_id], pr_num)
        f_score = (1 + beta2) * prec * recall / (beta2 * prec + recall)
        f_score[f_score != f_score] = 0
        avg_f += f_score
        img_num += 1
        score = avg_f / img_num
    return score.max().item()


# --- hand-made splits -------------------------------------------------------
def random_clips(seed=0, lengths=(3, 2, 4, 3, 1), size=(12, 10)):
    """Clips with boxes as ground truth (every third frame silent) and noisy
    logits that favour the box, some of them saturated."""
    gen = torch.Generator().manual_seed(seed)
    clips = []
    for i, num_frames in enumerate(lengths):
        gt = torch.zeros(num_frames, *size, dtype=torch.long)
        for k in range(num_frames):
            if (i + k) % 3:
                y, x = torch.randint(0, 6, (2, ), generator=gen).tolist()
                gt[k, y:y + 5, x:x + 4] = 1
        logits = 3 * torch.randn(num_frames, *size, generator=gen) + 2 * gt
        logits[0, 0, :3] = torch.tensor([30., -30., 1e-9])  # 1.0, ~0, 0.5
        clips.append(make_clip(f'clip{i}', logits, gt))
    return clips


def special_clips(size=(8, 6)):
    """All-empty predictions, full masks and saturated predictions."""
    obj = torch.zeros(size, dtype=torch.long)
    obj[2:6, 1:4] = 1
    full = torch.ones(size, dtype=torch.long)
    none = torch.zeros(size, dtype=torch.long)
    neg = torch.full(size, -8.)
    return [
        # all-empty predictions, with and without a sounding object
        make_clip('empty_pred', torch.stack([neg, neg]),
                  torch.stack([obj, none])),
        # full ground truth: prob exactly 1.0 (passes the last threshold,
        # 1.0) and 0.9997 (does not)
        make_clip('full', torch.stack([neg + 38, neg + 16]),
                  torch.stack([full, full])),
        # full prediction on a silent frame, exact prediction of an object
        make_clip('full_pred', torch.stack([neg + 13, 16. * obj - 8]),
                  torch.stack([none, obj])),
    ]


def stacked(samples):
    """All frames of the samples as AVSBench tensors ``[N, H, W]``."""
    logits = torch.cat([s.seg_logits.data for s in samples])
    gt = torch.cat([s.gt_sem_seg.data for s in samples]).float()
    return logits, gt


@pytest.mark.parametrize('case', ['random', 'special', 'all_silent'])
def test_binary_scores_match_avsbench(case):
    if case == 'random':
        samples = random_clips()
    elif case == 'special':
        samples = special_clips()
    else:
        samples = [
            make_clip('silent', torch.randn(2, 5, 4),
                      torch.zeros(2, 5, 4, dtype=torch.long))
        ]
    metrics = evaluate(SSUMetric(), samples)
    assert list(metrics) == ['mIoU', 'F-score', 'ssu_score']
    assert metrics['ssu_score'] == pytest.approx(
        (metrics['mIoU'] + metrics['F-score']) / 2, abs=1e-12)
    logits, gt = stacked(samples)
    assert metrics['mIoU'] == pytest.approx(avs_mask_iou(logits, gt), abs=1e-6)
    assert metrics['F-score'] == pytest.approx(
        avs_eval_fmeasure(logits, gt), abs=1e-6)
    if case == 'all_silent':
        assert metrics['F-score'] == 0.0


def test_special_cases_by_hand():
    """Values that follow from the definitions without any formula."""
    samples = special_clips()
    metrics = evaluate(SSUMetric(per_category=False), samples[:1])
    # object missed entirely (IoU 0); silent frame all background (IoU 1)
    assert metrics['mIoU'] == pytest.approx(0.5, abs=1e-6)
    metrics = evaluate(SSUMetric(per_category=False), samples[2:])
    # full prediction of a silent frame: 0; exact object: 1
    assert metrics['mIoU'] == pytest.approx(0.5, abs=1e-6)
    assert metrics['F-score'] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize('batch_size', [1, 2, 3])
def test_avsbench_compat_batch_average(batch_size):
    samples = random_clips(seed=1) + special_clips(size=(12, 10))[:1]
    metrics = evaluate(
        SSUMetric(avsbench_compat=True, avsbench_batch_size=batch_size),
        samples)
    ious, fs = [], []
    for i in range(0, len(samples), batch_size):
        logits, gt = stacked(samples[i:i + batch_size])
        ious.append(avs_mask_iou(logits, gt))
        fs.append(avs_eval_fmeasure(logits, gt))
    assert metrics['mIoU'] == pytest.approx(np.mean(ious), abs=1e-6)
    assert metrics['F-score'] == pytest.approx(np.mean(fs), abs=1e-6)
    split = evaluate(SSUMetric(), samples)
    if batch_size > 1:  # the grouping matters on this split
        assert abs(split['F-score'] - metrics['F-score']) > 1e-4


def test_ignored_pixels_and_frames_without_mask_are_left_out():
    samples = random_clips(seed=2, lengths=(3, 2))
    cropped = stacked(samples)
    for s in samples:  # last column ignored: same as cropping it away
        s.gt_sem_seg.data[..., -1] = 255
    # a frame without mask (all ignored) and a clip without ground truth
    extra = random_clips(seed=3, lengths=(1, 2))
    extra[0].gt_sem_seg.data[:] = 255
    del extra[1].gt_sem_seg
    metrics = evaluate(SSUMetric(), samples + extra)
    logits, gt = (x[..., :-1] for x in cropped)
    assert metrics['mIoU'] == pytest.approx(avs_mask_iou(logits, gt), abs=1e-6)
    assert metrics['F-score'] == pytest.approx(
        avs_eval_fmeasure(logits, gt), abs=1e-6)


def test_prediction_without_logits_scores_labels():
    samples = random_clips(seed=4)
    for s in samples:
        del s.seg_logits
    metrics = evaluate(SSUMetric(), samples)
    # labels as saturated logits: sigmoid gives exactly 0/1 probabilities
    logits = torch.cat([s.pred_sem_seg.data for s in samples]) * 200. - 100.
    gt = torch.cat([s.gt_sem_seg.data for s in samples]).float()
    assert metrics['mIoU'] == pytest.approx(avs_mask_iou(logits, gt), abs=1e-6)
    assert metrics['F-score'] == pytest.approx(
        avs_eval_fmeasure(logits, gt), abs=1e-6)


def test_semantic_scores_hand_checked():
    """Two 2x4 frames, labels 0 (background), 1 violin, 2 flute."""
    gt = torch.tensor([[[1, 1, 0, 0], [1, 1, 0, 0]],
                       [[2, 2, 255, 0], [0, 0, 0, 0]]])
    pred = torch.tensor([[[1, 0, 0, 0], [1, 1, 0, 2]],
                         [[2, 0, 1, 0], [0, 0, 0, 0]]])
    sample = make_clip('sem', (pred > 0).float() * 4 - 2, gt, pred=pred)
    metrics = evaluate(
        SSUMetric(), [sample], dict(META, seg_mode='semantic'))

    def f(p, r):
        return 1.3 * p * r / (0.3 * p + r) if p * r else 0.0

    # frame IoU / F per label; 'violin' absent from frame 1 (its only
    # prediction is an ignored pixel), 'drum' absent everywhere
    bg_iou, bg_f = (3 / 5 + 5 / 6) / 2, (f(3 / 4, 3 / 4) + f(5 / 6, 1)) / 2
    vi_iou, vi_f = 3 / 4, f(1, 3 / 4)
    fl_iou, fl_f = (0 + 1 / 2) / 2, (0 + f(1, 1 / 2)) / 2
    expected = {
        'IoU.background': bg_iou,
        'F-score.background': bg_f,
        'IoU.violin': vi_iou,
        'F-score.violin': vi_f,
        'IoU.flute': fl_iou,
        'F-score.flute': fl_f,
        'mIoU': (bg_iou + vi_iou + fl_iou) / 3,
        'F-score': (bg_f + vi_f + fl_f) / 3,
        'mIoU-noBg': (vi_iou + fl_iou) / 2,
        'F-score-noBg': (vi_f + fl_f) / 2,
    }
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), key
    assert 'IoU.drum' not in metrics
    # sounding vs silent from the logits, as binary mode
    binary_gt = torch.where(gt == 255, gt, (gt > 0).long())
    binary = evaluate(SSUMetric(),
                      [make_clip('bin', sample.seg_logits.data, binary_gt)])
    assert metrics['mIoU-binary'] == binary['mIoU']
    assert metrics['F-score-binary'] == binary['F-score']


# --- captions ---------------------------------------------------------------
PRED = [
    'The woman on the left is playing a flute.',
    'A man is playing the violin on the right.',
    "The boy's drum is being played, isn't it?",
    'the woman on the right is playing the violin',
    'Nobody.',
]
REF = [
    'The woman on the left is playing a flute, while the woman on the '
    'right is playing a violin.',
    'The man on the right is playing the violin.',
    'The boy in black and yellow stripes is playing the drum.',
    None,
    'The woman on the right is playing the violin.',
]


def caption_clips():
    """Two clips, 3 + 2 frames; frame 1/0 has no reference caption."""
    logits = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(0))
    gt = (logits > 0.3).long()
    return [
        make_clip(
            'a',
            logits,
            gt,
            pred_captions=PRED[:3],
            gt_captions=REF[:3],
            categories=['flute', 'violin']),
        make_clip(
            'b',
            logits[:2],
            gt[:2],
            pred_captions=PRED[3:],
            gt_captions=REF[3:],
            categories=['violin']),
    ]


def direct_caption_scores(preds, refs, java=True):
    """pycocoevalcap called directly, as COCOEvalCap.evaluate does."""
    if java:
        tok = PTBTokenizer()
        res = tok.tokenize({i: [dict(caption=p)] for i, p in enumerate(preds)})
        gts = tok.tokenize({i: [dict(caption=r)] for i, r in enumerate(refs)})
    else:
        res = {i: [python_ptb_tokenize(p)] for i, p in enumerate(preds)}
        gts = {i: [python_ptb_tokenize(r)] for i, r in enumerate(refs)}
    return scores_of_tokens(gts, res, java)


def scores_of_tokens(gts, res, java=True):
    """The pycocoevalcap scorers on tokenised ``{id: [caption]}`` dicts."""
    bleu, _ = Bleu(4).compute_score(gts, res)
    scores = {f'BLEU-{n + 1}': b for n, b in enumerate(bleu)}
    if java:  # the metric's Java process, started once (~20 s)
        scores['METEOR'] = shared_meteor().compute_score(gts, res)[0]
    scores['ROUGE-L'] = Rouge().compute_score(gts, res)[0]
    scores['CIDEr'] = Cider().compute_score(gts, res)[0]
    return scores


def test_caption_scores_match_pycocoevalcap():
    metrics = evaluate(SSUMetric(per_category=False), caption_clips())
    assert list(metrics) == [
        'mIoU', 'F-score', 'BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR',
        'ROUGE-L', 'CIDEr', 'ssu_score'
    ]
    # masks and captions weigh the same in the checkpoint selection score
    assert metrics['ssu_score'] == pytest.approx(
        (metrics['mIoU'] + metrics['F-score'] +
         (metrics['BLEU-4'] + metrics['ROUGE-L']) / 2) / 3,
        abs=1e-12)
    keep = [i for i, r in enumerate(REF) if r is not None]
    expected = direct_caption_scores([PRED[i] for i in keep],
                                     [REF[i] for i in keep])
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-12), key
    assert 0 < metrics['BLEU-4'] < metrics['BLEU-1'] < 1


def test_without_java_meteor_is_left_out_with_one_warning(monkeypatch):
    messages = []
    monkeypatch.setattr(ssu_metric, 'java_available', lambda: False)
    monkeypatch.setattr(ssu_metric, '_NO_JAVA_WARNED', False)
    monkeypatch.setattr(ssu_metric, 'print_log',
                        lambda msg, **kw: messages.append(msg))

    def no_java(*args, **kwargs):
        raise AssertionError('Java must not be started')

    # caption_scores imports them when it scores
    monkeypatch.setattr('pycocoevalcap.tokenizer.ptbtokenizer.PTBTokenizer',
                        no_java)
    monkeypatch.setattr('pycocoevalcap.meteor.meteor.Meteor', no_java)
    for _ in range(2):
        metrics = evaluate(SSUMetric(), caption_clips())
    assert 'METEOR' not in metrics
    keep = [i for i, r in enumerate(REF) if r is not None]
    expected = direct_caption_scores([PRED[i] for i in keep],
                                     [REF[i] for i in keep],
                                     java=False)
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-12), key
    warnings = [m for m in messages if 'No Java runtime' in m]
    assert len(warnings) == 1 and 'METEOR is left out' in warnings[0]


def test_failing_meteor_is_left_out(monkeypatch):
    messages = []

    class BrokenMeteor:

        def compute_score(self, gts, res):
            raise ValueError("could not convert string to float: ''")

    monkeypatch.setattr(caption_scores, '_METEOR', BrokenMeteor())
    monkeypatch.setattr(caption_scores, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    metrics = evaluate(SSUMetric(per_category=False), caption_clips())
    assert 'METEOR' not in metrics and 'CIDEr' in metrics
    assert caption_scores._METEOR is None  # discarded, restarted next time
    assert len(messages) == 1 and 'METEOR failed' in messages[0]


def test_python_tokenizer_matches_java_ptb():
    captions = REF[:3] + PRED + [
        'Two kids don\'t stop singing; they\'re loud!',
        'She says "hello" to the 3.5-year-old child (on the left).',
        'It\'s 10:30 and 1,000 birds chirp... The players\' drums sound.',
        'A guitar-playing man -- on the right -- sings: la la.',
        'The dog\'s owner, who\'d left, won\'t come back?',
        'A [red] {blue} drum; Mr. Smith cannot play it, e.g. at the U.S. '
        'fair etc.',
    ]
    java = PTBTokenizer().tokenize({
        i: [dict(caption=c)]
        for i, c in enumerate(captions)
    })
    for i, caption in enumerate(captions):
        assert python_ptb_tokenize(caption) == java[i][0], caption


def test_blank_prediction_scores_as_empty_token_list():
    clips = caption_clips()
    clips[1].pred_captions = ['nothing', '   ']  # second has a reference
    metrics = evaluate(SSUMetric(per_category=False), clips)
    tok = PTBTokenizer()
    refs = [REF[0], REF[1], REF[2], REF[4]]
    gts = tok.tokenize({i: [dict(caption=r)] for i, r in enumerate(refs)})
    res = tok.tokenize({i: [dict(caption=p)] for i, p in enumerate(PRED[:3])})
    res[3] = ['']
    for key, value in scores_of_tokens(gts, res).items():
        assert metrics[key] == pytest.approx(value, abs=1e-12), key


# --- breakdown and files ----------------------------------------------------
def breakdown_clips():
    clips = caption_clips()
    logits = torch.randn(2, 4, 4, generator=torch.Generator().manual_seed(5))
    clips.append(
        make_clip(
            'c',
            logits, (logits < 0).long(),
            pred_captions=['A drum is played.', 'The drum sounds.'],
            gt_captions=[
                'The man is playing the drum.', 'The man in red plays a drum.'
            ],
            categories=['drum']))
    return clips


def test_breakdown_equals_scores_of_category_subsets(tmp_path):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('test_breakdown', log_file=str(tmp_path / 'x.log'))
    clips = breakdown_clips()
    metrics = evaluate(SSUMetric(), clips)
    with open(tmp_path / 'ssu_breakdown.json') as f:
        report = json.load(f)
    assert report['tokenizer'] == 'ptb-java'
    assert report['metrics'] == pytest.approx(metrics)
    groups = dict(violin=[0, 1], flute=[0], drum=[2])
    assert list(report['categories']) == ['violin', 'flute', 'drum']
    for name, idx in groups.items():
        subset = evaluate(
            SSUMetric(per_category=False), [clips[i] for i in idx])
        row = report['categories'][name]
        assert row['clips'] == len(idx)
        # ssu_score selects checkpoints on the whole split only
        subset.pop('ssu_score')
        for key, value in subset.items():
            assert row[key] == pytest.approx(value, abs=1e-12), (name, key)
    supers = report['super_categories']
    assert supers['String'] == report['categories']['violin']
    assert supers['Percussion'] == report['categories']['drum']


def test_output_dir_writes_masks_and_captions(tmp_path):
    clips = breakdown_clips()
    evaluate(SSUMetric(output_dir=str(tmp_path)), clips)
    for clip in clips:
        pred = clip.pred_sem_seg.data.numpy()
        for k in range(len(pred)):
            png = mmcv.imread(
                str(tmp_path / clip.clip_id / f'{k}.png'), flag='unchanged')
            np.testing.assert_array_equal(png, pred[k] * 255)
    with open(tmp_path / 'captions.json') as f:
        entries = json.load(f)
    expected = [
        dict(clip_id=c.clip_id, frame=k, pred=p, ref=r) for c in clips
        for k, (p, r) in enumerate(zip(c.pred_captions, c.gt_captions))
    ]
    assert entries == expected
    assert entries[3]['ref'] is None
    assert osp.exists(tmp_path / 'ssu_breakdown.json')


def test_semantic_masks_are_written_as_labels(tmp_path):
    pred = torch.tensor([[[0, 1], [2, 3]]])
    metric = SSUMetric(output_dir=str(tmp_path))
    evaluate(metric, [make_clip('s', pred.float(), pred, pred=pred)],
             dict(META, seg_mode='semantic'))
    png = mmcv.imread(str(tmp_path / 's' / '0.png'), flag='unchanged')
    np.testing.assert_array_equal(png, pred[0].numpy())


def test_registered_and_reads_evaluator_dicts():
    from mmseg.registry import METRICS
    metric = METRICS.build(
        dict(type='SSUMetric', avsbench_compat=True, avsbench_batch_size=2))
    assert isinstance(metric, SSUMetric)
    sample = caption_clips()[0].to_dict()
    assert {
        'clip_id', 'pred_sem_seg', 'seg_logits', 'gt_sem_seg', 'pred_captions',
        'gt_captions', 'categories'
    } <= set(sample)


def test_mode_comes_from_the_dataset_meta():
    """No seg_mode argument: the dataset's metainfo sets it, and a
    metainfo without it is refused."""
    with pytest.raises(TypeError):
        SSUMetric(seg_mode='semantic')
    sample = make_clip('m', torch.zeros(1, 2, 2), torch.zeros(1, 2, 2).long())
    for meta in (dict(classes=('violin', )), None):
        metric = SSUMetric(per_category=False)
        metric.dataset_meta = meta
        with pytest.raises(ValueError, match="seg_mode"):
            metric.process({}, [sample.to_dict()])

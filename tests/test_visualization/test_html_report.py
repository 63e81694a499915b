"""The results page: SSUResultsPageHook and SSUMetric(clip_scores_dir) in a
Runner test loop on the synthetic set, with predictions made from its
ground truth, and ``tools/test.py --show-dir`` on a tiny model. Every score
on the page must equal SSUMetric's on that clip alone."""
import itertools
import json
import sys
from urllib.parse import quote

import pytest
import torch
from mmengine.runner import Runner
from mmengine.structures import PixelData

from mmseg.registry import DATASETS
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.evaluation import SSUMetric
from rassu_mm.evaluation.metrics import ssu_metric
from rassu_mm.testing import (build_tiny_model, demo_runner_cfg, load_tool,
                              tiny_model_cfg, write_caption_tokenizer)
from rassu_mm.visualization import write_results_page
from rassu_mm.visualization.html_report import PANELS, format_score
from tests.fixtures.html_pages import (PageParser, dump_dom, missing_files,
                                       requires_chromium)
from .test_visualization_hook import ReturnsPrediction

_RUNNERS = itertools.count()  # a fresh visualizer (and save_dir) per runner
SCORE_KEYS = {'miou': 'mIoU', 'fscore': 'F-score', 'bleu4': 'BLEU-4'}


@pytest.fixture(scope='module')
def no_java():
    """Python tokenisation and no METEOR (no 20 s Java start-up)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ssu_metric, 'java_available', lambda: False)
        yield


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic_dataset(
        str(root / 'data'), num_clips=(2, 2, 4), progress=False)
    return root


def predicted_clips(data_root):
    """The test clips of the synthetic set with a prediction each: clip
    ``i`` has its ground-truth mask shifted by ``3 i`` pixels (logits
    +-4) and, in frame ``t``, the reference caption cut after ``2 + i +
    t`` words."""
    dataset = DATASETS.build(
        demo_runner_cfg(data_root).test_dataloader.dataset)
    samples = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        gt = sample.gt_sem_seg.data
        shifted = torch.roll(gt, shifts=3 * i, dims=-1)
        sample.seg_logits = PixelData(data=(shifted > 0).float() * 8 - 4)
        sample.pred_sem_seg = PixelData(data=(shifted > 0).long())
        sample.pred_captions = [
            ' '.join(ref.split()[:2 + i + t])
            for t, ref in enumerate(sample.gt_captions)
        ]
        samples.append(sample)
    return dataset.metainfo, samples


def run_test_loop(metainfo, samples, out_dir, work_dir, **metric):
    """Test ``samples`` in a Runner with the page hook writing to
    ``out_dir``; ``metric``: SSUMetric arguments (default
    ``clip_scores_dir=out_dir``)."""
    metric = dict(dict(type='SSUMetric', clip_scores_dir=out_dir), **metric)
    class Clips(torch.utils.data.Dataset):

        def __len__(self):
            return len(samples)

        def __getitem__(self, idx):
            return dict(inputs=torch.zeros(1), data_samples=samples[idx])

    Clips.metainfo = metainfo
    runner = Runner(
        model=ReturnsPrediction(),
        work_dir=work_dir,
        test_dataloader=torch.utils.data.DataLoader(
            Clips(),
            batch_size=3,
            collate_fn=lambda batch: dict(
                inputs=[b['inputs'] for b in batch],
                data_samples=[b['data_samples'] for b in batch])),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=metric,
        custom_hooks=[dict(type='SSUResultsPageHook', out_dir=out_dir)],
        visualizer=dict(
            type='SSULocalVisualizer', name=f'html_report_{next(_RUNNERS)}'),
        default_scope='mmseg')
    return runner.test()


def clip_alone(metainfo, sample):
    """SSUMetric's mIoU, F-score and BLEU-4 of a split of one clip."""
    metric = SSUMetric(per_category=False)
    metric.dataset_meta = metainfo
    metric.process({}, [sample.to_dict()])
    metrics = metric.compute_metrics(metric.results)
    return {key: metrics.get(name) for key, name in SCORE_KEYS.items()}


def page_rows(page):
    """``{clip_id: (data-* scores, shown scores, row element)}``."""
    parser = PageParser(page.read_text())
    rows = {}
    for row in parser.root.find_all('tr'):
        if 'data-clip-id' not in row.attrs:
            continue
        data = {
            k: float(row.attrs[f'data-{k}']) if row.attrs[f'data-{k}'] else
            None
            for k in SCORE_KEYS
        }
        shown = {
            k: next(row.find_all('td', k)).text.strip()
            for k in SCORE_KEYS
        }
        rows[row.attrs['data-clip-id']] = (data, shown, row)
    return parser, rows


@pytest.fixture(scope='module')
def results_page(synthetic, no_java, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('page')
    metainfo, samples = predicted_clips(str(synthetic / 'data'))
    run_test_loop(metainfo, samples, str(tmp / 'show'), str(tmp / 'work'))
    return tmp / 'show' / 'index.html', metainfo, samples


def test_page_shows_the_scores_of_each_clip_alone(results_page):
    page, metainfo, samples = results_page
    parser, rows = page_rows(page)
    assert list(rows) == [s.clip_id for s in samples]
    assert missing_files(str(page), parser) == []
    distinct = set()
    for sample in samples:
        data, shown, row = rows[sample.clip_id]
        expected = clip_alone(metainfo, sample)
        assert data == expected
        assert shown == {k: format_score(v) for k, v in expected.items()}
        distinct.update(expected.items())
        # every frame: three thumbnails, both captions
        figures = list(row.find_all('figure'))
        assert len(figures) == sample.num_frames
        for t, figure in enumerate(figures):
            assert [img.attrs['src'] for img in figure.find_all('img')] == [
                f'clips/{sample.clip_id}/{t}_{panel}.jpg'
                for panel, _ in PANELS
            ]
            assert [p.text for p in figure.find_all('p')] == [
                f'GT: {sample.gt_captions[t]}',
                f'Pred: {sample.pred_captions[t]}'
            ]
        assert json.loads(row.attrs['data-categories']) == sample.categories
    # the crafted predictions score differently: the check can fail
    assert len(distinct) == 3 * len(samples)


def test_hook_refuses_a_metric_without_clip_scores(synthetic, tmp_path):
    """Without SSUMetric(clip_scores_dir=out_dir) the page would show the
    scores of an earlier run: refused before testing, nothing written."""
    metainfo, samples = predicted_clips(str(synthetic / 'data'))
    with pytest.raises(ValueError, match=r'needs test_evaluator=dict\('
                       r"type='SSUMetric', clip_scores_dir="):
        run_test_loop(metainfo, samples[:1], str(tmp_path / 'show'),
                      str(tmp_path / 'work'), clip_scores_dir=None)
    assert not (tmp_path / 'show').exists()


def page_rows_of(dom):
    """``[(clip_id, row element)]`` in document order."""
    parser = PageParser(dom)
    return [(row.attrs['data-clip-id'], row)
            for row in parser.root.find_all('tr')
            if 'data-clip-id' in row.attrs]


@requires_chromium
def test_browser_sorts_and_filters(results_page):
    """The page's script in Chromium, set through the URL fragment: rows
    in score order (worst mIoU first by default), hidden by score,
    category, super-category and text."""
    page = results_page[0]
    _, rows = page_rows(page)
    data = {clip: scores for clip, (scores, _, _) in rows.items()}
    cats = {
        clip: json.loads(row.attrs['data-categories'])
        for clip, (_, _, row) in rows.items()
    }
    supers = json.loads(
        (page.parent / 'clip_scores.json').read_text())['super_categories']

    def some(keep):  # a filter that hides some clips, not all
        return 0 < sum(bool(keep(clip)) for clip in rows) < len(rows)

    category = next(c for c in sorted({c
                                       for v in cats.values() for c in v})
                    if some(lambda clip: c in cats[clip]))
    group = next(name for name, members in sorted(supers.items())
                 if some(lambda clip: set(members) & set(cats[clip])))
    median = sorted(d['miou'] for d in data.values())[len(data) // 2]
    cases = [
        ('', 'miou', False, None),
        ('#sort=bleu4&order=desc', 'bleu4', True, None),
        (f'#sort=fscore&metric=miou&max={100 * median!r}', 'fscore', False,
         lambda clip: data[clip]['miou'] <= median),
        (f'#category={quote(category)}', 'miou', False,
         lambda clip: category in cats[clip]),
        (f'#category={quote(group)}&order=desc', 'miou', True,
         lambda clip: bool(set(supers[group]) & set(cats[clip]))),
        (f'#sort=clip&q={list(rows)[1]}', 'clip', False,
         lambda clip: clip == list(rows)[1]),
    ]
    for fragment, key, reverse, keep in cases:
        after = page_rows_of(dump_dom(page.as_uri() + fragment))
        by = (lambda c: c) if key == 'clip' else (lambda c: data[c][key])
        assert [clip for clip, _ in after] == sorted(
            rows, key=by, reverse=reverse), fragment
        shown = [clip for clip, row in after if 'hidden' not in row.attrs]
        assert shown == [c for c, _ in after if keep is None or keep(c)]
        assert keep is None or some(keep), fragment


def test_test_tool_show_dir_writes_the_page(synthetic, no_java, tmp_path,
                                            monkeypatch):
    """``tools/test.py --show-dir`` on a tiny model: the page's scores are
    those of clip_scores.json, which SSUMetric wrote with the split's
    metrics, and its files exist."""
    data = str(synthetic / 'data')
    with open(f'{data}/annotations/train.json') as f:
        captions = [
            fr['caption'] for clip in json.load(f)['clips']
            for fr in clip['frames']
        ]
    overrides = dict(
        tokenizer=write_caption_tokenizer(tmp_path / 'tok', captions),
        caption_head=dict(generation=dict(max_length=6)))
    cfg = demo_runner_cfg(data, config='ssuformer_demo.py')
    cfg.model = tiny_model_cfg('ssuformer_demo.py', **overrides)
    cfg.dump(str(tmp_path / 'cfg.py'))
    model = build_tiny_model('ssuformer_demo.py', **overrides)
    torch.save(
        dict(meta={}, state_dict=model.state_dict()),
        str(tmp_path / 'model.pth'))
    show = tmp_path / 'show'
    monkeypatch.setattr(sys, 'argv', [
        'test.py',
        str(tmp_path / 'cfg.py'),
        str(tmp_path / 'model.pth'), '--show-dir',
        str(show), '--work-dir',
        str(tmp_path / 'work')
    ])
    load_tool('tools/test.py').main()
    table = json.loads((show / 'clip_scores.json').read_text())
    (metrics_file, ) = [
        p for p in (tmp_path / 'work').glob('*/*.json')
        if p.stem == p.parent.name
    ]
    split = json.loads(metrics_file.read_text())
    assert {k: split[k] for k in table['metrics']} == table['metrics']
    parser, rows = page_rows(show / 'index.html')
    assert missing_files(str(show / 'index.html'), parser) == []
    assert list(rows) == [c['clip_id'] for c in table['clips']]
    for clip in table['clips']:
        data, shown, row = rows[clip['clip_id']]
        expected = {k: clip.get(name) for k, name in SCORE_KEYS.items()}
        assert data == expected and None not in expected.values()
        assert shown == {k: format_score(v) for k, v in expected.items()}
        assert len(list(row.find_all('img'))) == 3 * clip['num_frames']
    # the painted clips of --show-dir are still written
    assert len(list((show / 'vis_data' / 'vis_image').glob('*.png'))) == 4


def test_page_escapes_clip_ids_and_leaves_out_missing_images(tmp_path):
    """A clip id with URL and HTML specials links its own thumbnails; a
    clip without thumbnails (e.g. drawn on another machine) has none."""
    odd = 'a b#1&<x>?'
    clips = [
        dict(clip_id=odd, categories=['x&y'], num_frames=1,
             pred_captions=['<b>bold</b>'], gt_captions=[None], mIoU=0.5,
             **{'F-score': 0.25}),
        dict(clip_id='drawn_elsewhere', categories=[], num_frames=2)
    ]
    (tmp_path / 'clip_scores.json').write_text(
        json.dumps(dict(metrics={}, super_categories={}, clips=clips)))
    for panel, _ in PANELS:
        path = tmp_path / 'clips' / odd / f'0_{panel}.jpg'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'jpeg')
    write_results_page(str(tmp_path))
    parser, rows = page_rows(tmp_path / 'index.html')
    assert list(rows) == [odd, 'drawn_elsewhere']
    assert missing_files(str(tmp_path / 'index.html'), parser) == []
    data, shown, row = rows[odd]
    assert data == dict(miou=0.5, fscore=0.25, bleu4=None)
    assert shown == dict(miou='50.00', fscore='25.00', bleu4='-')
    assert len(list(row.find_all('img'))) == 3
    assert [p.text for p in row.find_all('p')] == ['Pred: <b>bold</b>']
    assert next(row.find_all('b')).text == odd
    assert json.loads(row.attrs['data-categories']) == ['x&y']
    _, _, other = rows['drawn_elsewhere']
    assert list(other.find_all('img')) == []
    assert len(list(other.find_all('figure'))) == 2

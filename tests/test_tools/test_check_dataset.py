"""``tools/misc/check_dataset.py`` on a copy of a generated demo set with
several kinds of breakage (rows of the bad-input table of docs/data.md):
one run reports every bad clip with the message training would stop with,
exits 1, writes a clean annotation that loads with exactly the good clips,
and writes nothing but its outputs."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import soundfile

from mmseg.registry import DATASETS
from rassu_mm.datasets import ClipDataError
from rassu_mm.datasets.synthetic import make_synthetic_dataset
from rassu_mm.testing import demo_runner_cfg, load_tool

check_dataset = load_tool('tools/misc/check_dataset.py')
T, SIZE = 2, 32
#: The clips :func:`break_copy` leaves intact (silent audio is fine in val)
GOOD = dict(train=['train_0006', 'train_0007'],
            val=['val_0001', 'val_0002'],
            test=['test_0000', 'test_0001'])


@pytest.fixture(scope='module')
def demo_src(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('check_dataset') / 'demo')
    make_synthetic_dataset(root, num_clips=(8, 3, 2), num_frames=T,
                           size=(SIZE, SIZE), progress=False)
    return root


def copy_with_config(demo_src, tmp_path):
    """A copy of the set and the demo config reading it (its training
    pipeline refuses silent audio; its audio cache would go to
    ``<root>/audio_cache``)."""
    root = str(tmp_path / 'data')
    shutil.copytree(demo_src, root)
    config = str(tmp_path / 'config.py')
    demo_runner_cfg(root).dump(config)
    return root, config


def read_ann(root, split):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def write_ann(root, split, ann):
    with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
        json.dump(ann, f)


def truncate(path):
    with open(path, 'r+b') as f:
        f.truncate(osp.getsize(path) // 2)


def silence(path):
    soundfile.write(path, np.zeros(16000 * T, np.float32), 16000)


def break_copy(root):
    """Break clips of the copy; returns split -> {clip id: [(message
    fragment, file)]} of what must be reported, in annotation order."""
    train = read_ann(root, 'train')
    clips = train['clips']

    def file_of(index, kind, k=0):
        rel = clips[index]['audio'] if kind == 'audio' else \
            clips[index]['frames'][k][kind]
        return osp.join(root, rel)

    truncate(file_of(0, 'image', 1))  # truncated JPEG
    os.remove(file_of(1, 'mask'))  # missing mask file
    with open(file_of(2, 'audio'), 'wb') as f:  # corrupt wav
        f.write(b'\x00 not a sound \xff' * 8)
    cv2.imwrite(file_of(3, 'mask', 1), np.zeros((10, 10), np.uint8))
    clips[4]['frames'][0]['image'] = '../../../etc/passwd'  # unsafe path
    truncate(file_of(5, 'image'))  # two problems in one clip
    silence(file_of(5, 'audio'))
    clips.append(dict(clips[6]))  # a second entry with clip 6's id
    write_ann(root, 'train', train)
    val = read_ann(root, 'val')
    truncate(osp.join(root, val['clips'][0]['audio']))  # truncated wav
    silence(osp.join(root, val['clips'][1]['audio']))  # fine in val
    ann_file = osp.join(root, 'annotations', 'train.json')
    return dict(
        train={
            'train_0000': [('unreadable frame', file_of(0, 'image', 1))],
            'train_0001': [('file not found', file_of(1, 'mask'))],
            'train_0002':
            [('not a valid RIFF/WAVE file', file_of(2, 'audio'))],
            'train_0003':
            [('differs from its frame size', file_of(3, 'mask', 1))],
            'train_0004': [('leaves the dataset root', ann_file)],
            'train_0005': [('unreadable frame', file_of(5, 'image')),
                           ('audio is silent', file_of(5, 'audio'))],
            'train_0006': [('duplicate clip id', ann_file)],
        },
        val={
            'val_0000': [('truncated WAV',
                          osp.join(root, val['clips'][0]['audio']))]
        },
        test={})


def snapshot(folder):
    """Every file and folder below ``folder``: size and mtime."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = osp.join(dirpath, name)
            stat = os.lstat(path)
            state[osp.relpath(path, folder)] = (stat.st_size,
                                                stat.st_mtime_ns)
    return state


def test_every_breakage_in_one_run(demo_src, tmp_path, capsys):
    root, config = copy_with_config(demo_src, tmp_path)
    originals = {s: read_ann(root, s) for s in ('train', 'val', 'test')}
    expected = break_copy(root)
    broken = {s: read_ann(root, s) for s in ('train', 'val', 'test')}
    out = tmp_path / 'out'
    before = snapshot(str(tmp_path))
    code = check_dataset.main([
        config, '--workers', '2', '--out',
        str(out / 'report.json'), '--write-clean-annotation',
        str(out / 'clean_{split}.json')
    ])
    printed = capsys.readouterr().out
    assert code == 1
    # nothing written but the outputs (no audio cache, nothing in the data)
    after = snapshot(str(tmp_path))
    assert set(after) - set(before) == {
        'out', 'out/report.json', 'out/clean_train.json',
        'out/clean_val.json', 'out/clean_test.json'
    }
    assert {k: after[k] for k in before} == before

    with open(out / 'report.json') as f:
        report = json.load(f)
    assert report['ok'] is False and report['config'] == config
    messages = []
    for split, bad in expected.items():
        entry = report['splits'][split]
        assert [c['clip_id'] for c in entry['bad_clips']] == list(bad)
        assert entry['num_bad'] == len(bad)
        assert entry['num_clips'] == len(broken[split]['clips'])
        assert entry['clean_annotation'] == str(out / f'clean_{split}.json')
        for clip in entry['bad_clips']:
            got = [(e['file'], e['reason']) for e in clip['errors']]
            want = bad[clip['clip_id']]
            assert len(got) == len(want), got
            for (path, reason), (fragment, bad_file) in zip(got, want):
                assert path == bad_file and fragment in reason, got
            for error in clip['errors']:
                assert error['message'] == (f"clip {clip['clip_id']!r}: "
                                            f"{error['reason']} "
                                            f"({error['file']})")
                messages.append(error['message'])
    # the duplicate is the second entry with that id, not the first
    assert report['splits']['train']['bad_clips'][-1]['index'] == 8
    # every message printed on its own line, then one summary per split
    lines = printed.splitlines()
    for message in messages:
        assert message in lines
    assert 'train: 7 of 9 clips bad' in printed
    assert 'val: 1 of 3 clips bad' in printed
    assert 'test: 0 of 2 clips bad' in printed

    # the same messages as training and testing stop with: the dataset's
    # own checks, or the pipeline on the clip
    cfg = demo_runner_cfg(root)
    for split in expected:
        dataset = DATASETS.build(
            dict(cfg[f'{split}_dataloader'].dataset, skip_bad_clips=True))
        init_errors = {str(e) for e in dataset.bad_clips}
        dataset.skip_bad_clips = False
        ids = [dataset.get_data_info(i)['clip_id']
               for i in range(len(dataset))]
        firsts = [c['errors'][0]['message']
                  for c in report['splits'][split]['bad_clips']]
        assert init_errors <= set(firsts)
        for clip_id, first in zip(expected[split], firsts):
            if first not in init_errors:
                with pytest.raises(ClipDataError) as info:
                    dataset[ids.index(clip_id)]
                assert str(info.value) == first

    # the clean annotations: same schema and metainfo, the good entries
    for split in ('train', 'val', 'test'):
        with open(out / f'clean_{split}.json') as f:
            clean = json.load(f)
        bad_indices = {
            c['index'] for c in report['splits'][split]['bad_clips']
        }
        assert clean == dict(
            broken[split],
            clips=[
                c for i, c in enumerate(broken[split]['clips'])
                if i not in bad_indices
            ])
        assert clean['metainfo'] == originals[split]['metainfo']
        dataset = DATASETS.build(
            dict(cfg[f'{split}_dataloader'].dataset,
                 ann_file=str(out / f'clean_{split}.json')))
        assert [dataset.get_data_info(i)['clip_id']
                for i in range(len(dataset))] == GOOD[split]
        for i in range(len(dataset)):  # every good clip loads
            assert dataset[i]['inputs']['frames'].shape[0] == T


def test_good_set_passes_in_process(demo_src, tmp_path, capsys):
    """Without breakage: exit 0, and ``--split`` limits the check."""
    root, config = copy_with_config(demo_src, tmp_path)
    before = snapshot(str(tmp_path))
    report = tmp_path / 'report.json'
    assert check_dataset.main(
        [config, '--split', 'val', '--workers', '0', '--out',
         str(report)]) == 0
    assert set(snapshot(str(tmp_path))) - set(before) == {'report.json'}
    with open(report) as f:
        data = json.load(f)
    assert data['ok'] is True and list(data['splits']) == ['val']
    assert data['splits']['val']['num_clips'] == 3
    assert data['splits']['val']['bad_clips'] == []
    assert 'val: 0 of 3 clips bad' in capsys.readouterr().out


def test_unusable_annotation_and_bad_arguments(demo_src, tmp_path, capsys):
    root, config = copy_with_config(demo_src, tmp_path)
    ann = osp.join(root, 'annotations', 'test.json')
    with open(ann, 'w') as f:
        f.write('{"clips": [')
    report = tmp_path / 'report.json'
    assert check_dataset.main(
        [config, '--split', 'test', '--workers', '0', '--out',
         str(report)]) == 1
    out = capsys.readouterr().out
    assert "clip '?': malformed JSON" in out and ann in out
    with open(report) as f:
        assert 'malformed JSON' in json.load(f)['splits']['test']['error']
    before = snapshot(str(tmp_path))
    # several splits need {split} in the path; the input is never replaced
    assert check_dataset.main(
        [config, '--write-clean-annotation',
         str(tmp_path / 'clean.json')]) == 2
    train_ann = osp.join(root, 'annotations', 'train.json')
    assert check_dataset.main([
        config, '--split', 'train', '--write-clean-annotation', train_ann
    ]) == 2
    assert snapshot(str(tmp_path)) == before
    out = capsys.readouterr().out
    assert 'must contain {split}' in out
    assert 'is the train annotation file itself' in out

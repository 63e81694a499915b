"""Check every clip of a config's datasets before a long training run.

Every annotation entry is checked as the dataset checks it, then every
frame, mask and audio file is decoded once by the split's own loading
transforms (``LoadClipFrames``, ``LoadClipMasks``, ``LoadClipAudio`` with
its arguments such as ``reject_silence``, ``LoadClipCaptions``), in worker
processes. All bad clips are listed at once with the one-line messages
training would stop with (``docs/data.md`` section 5). The exit status is
1 when a clip or an annotation file is bad, else 0.

Example::

    python tools/misc/check_dataset.py configs/ssuformer_f_music.py \\
        --split train val --workers 8 --out work_dirs/check_f_music.json \\
        --write-clean-annotation data/f_music/annotations/{split}_clean.json

Nothing is written but ``--out`` and ``--write-clean-annotation`` (the
audio feature cache is not used, so every audio file is decoded).
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import rassu_mm  # noqa: F401  registers the datasets and transforms
from rassu_mm.datasets.dataset_check import (bad_messages, check_splits,
                                             is_clean, summary_line)

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Check every clip of the datasets of a config')
    parser.add_argument('config', help='config with the dataloaders')
    parser.add_argument(
        '--split',
        nargs='+',
        choices=SPLITS,
        help='splits to check (default: those the config has)')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8, os.cpu_count() or 1),
        help='worker processes (0: check in this process)')
    parser.add_argument('--out', help='write the JSON report here')
    parser.add_argument(
        '--write-clean-annotation',
        metavar='OUT',
        help='write the annotation file without the bad clips here (with '
        'several splits OUT must contain {split}, e.g. '
        'data/x/annotations/{split}_clean.json)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def clean_paths(template, splits, ann_files):
    """Split -> path of its clean annotation (None without a template).

    Raises:
        ValueError: Several splits and no ``{split}`` in the template, or
            a path that is the split's annotation file itself.
    """
    if template is None:
        return {split: None for split in splits}
    if len(splits) > 1 and '{split}' not in template:
        raise ValueError(
            f'--write-clean-annotation {template}: with several splits '
            '({}) the path must contain {{split}}'.format(', '.join(splits)))
    paths = {split: template.replace('{split}', split) for split in splits}
    for split, path in paths.items():
        ann = ann_files.get(split)
        if ann and osp.exists(path) and osp.samefile(path, ann):
            raise ValueError(f'--write-clean-annotation {path} is the '
                             f'{split} annotation file itself')
    return paths


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    available = [s for s in SPLITS if cfg.get(f'{s}_dataloader')]
    splits = args.split or available
    missing = [s for s in splits if s not in available]
    if missing:
        print(f'error: {args.config} has no {", ".join(missing)} dataloader')
        return 2
    dataset_cfgs = {s: cfg[f'{s}_dataloader'].dataset for s in splits}
    ann_files = {
        s: osp.join(d.get('data_root') or '', d.ann_file)
        for s, d in dataset_cfgs.items()
    }
    try:
        out_paths = clean_paths(args.write_clean_annotation, splits,
                                ann_files)
    except ValueError as err:
        print(f'error: {err}')
        return 2
    report, clean = check_splits(
        dataset_cfgs, {s: d.get('pipeline', [])
                       for s, d in dataset_cfgs.items()}, args.workers)
    for message in bad_messages(report):
        print(message)
    for split, entry in report.items():
        path = out_paths[split] if split in clean else None
        if path:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w') as f:
                json.dump(clean[split], f, indent=1)
        entry['clean_annotation'] = path
        print(summary_line(split, entry, path))
    ok = is_clean(report)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(config=args.config, ok=ok, splits=report), f,
                      indent=1)
        print(f'report: {args.out}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

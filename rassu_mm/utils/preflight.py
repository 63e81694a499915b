"""Check, before anything is built or fetched, that a config's inputs exist.

``tools/train.py`` and ``tools/test.py`` call :func:`check_inputs` first: on
a fresh clone without data or weights they stop with one message that lists
every missing input (data roots, annotation files, pretrained weights,
tokenizers), the config key that names it and the command or document that
provides it, instead of starting a download or ending in a library
traceback.
"""
import os.path as osp
import re
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

DATA_DOC = "docs/data.md, section 'Producing SSU data'"
TOKENIZER_CMD = 'python tools/build_tokenizer.py {ann} {out}'
# component types whose `pretrained` is a CLIP folder or hub name
CLIP_OWNERS = ('MaskCollaborationModule', 'CLIPConsistencyLoss',
               'RegionCaptionConsistencyLoss')
HUB_NAME = re.compile(r'[\w.-]+/[\w.-]+')
# a missing input: (what, path, config key, how to get it)
Missing = Tuple[str, str, str, str]

# What each kind of pretrained weight is and where the paper configs expect
# it (``tools/misc/download_pretrained.py <kind>`` puts it there).
PRETRAINED = {
    'pvt_v2_b5': dict(
        what='PVT-v2-b5 ImageNet-1k weights',
        path='pretrain/pvt_v2_b5.pth'),
    'vggish': dict(
        what='VGGish weights (torchvggish, converted)',
        path='pretrain/vggish_mmseg.pth'),
    'clip': dict(
        what='CLIP ViT-B/16 (weights and tokenizer folder)',
        path='pretrain/clip-vit-base-patch16'),
}


class MissingInputsError(RuntimeError):
    """Inputs of a config that are not on disk (the message lists them)."""


def how_to_get(kind: str) -> str:
    """The command (and doc section) that provides a pretrained ``kind``."""
    return (f'python tools/misc/download_pretrained.py {kind} '
            f'(docs/pretrained.md)')


def missing_weights_message(path: str, setting: str,
                            kind: Optional[str] = None) -> str:
    """One line: which file is missing, which setting names it, the fix
    (``kind``: key of :data:`PRETRAINED`, None for other weights)."""
    if kind is None:
        return (f'pretrained weights not found: {path!r} (set by {setting}'
                f'); see docs/pretrained.md or point {setting} at a copy')
    return (f'{PRETRAINED[kind]["what"]} not found: {path!r} (set by '
            f'{setting}); get them with `{how_to_get(kind)}` or point '
            f'{setting} at a local copy')


def is_local_path(path: str) -> bool:
    """Whether a checkpoint string names a local file (not a URL or an
    ``open-mmlab://``-style model zoo name)."""
    return '://' not in path


def check_inputs(cfg: Config,
                 mode: str,
                 checkpoint: Optional[str] = None,
                 config_name: str = 'the config',
                 pretrained: bool = False) -> None:
    """Raise :class:`MissingInputsError` listing what ``cfg`` lacks.

    Args:
        cfg: the full config (model and dataloaders).
        mode: ``'train'`` (train and val data, pretrained weights,
            tokenizers, ``load_from``) or ``'test'`` (test data, tokenizers
            and ``checkpoint``, which holds all weights, so no pretrained
            file is needed).
        checkpoint: the checkpoint to test.
        config_name: how to call the config in the message.
        pretrained: in ``'test'`` mode, also check the pretrained weights
            (the checkpoint is a published file that leaves them to
            ``init_weights``: ``tools/misc/publish_model.py
            --strip-frozen``).
    """
    missing = find_missing(cfg, mode, checkpoint, pretrained)
    if missing:
        lines = [f'  - {item}' for item in missing]
        raise MissingInputsError(
            f'{config_name} cannot {mode}: {len(missing)} input(s) missing '
            f'(nothing was downloaded):\n' + '\n'.join(lines))


def exit_if_inputs_missing(cfg: Config,
                           mode: str,
                           checkpoint: Optional[str] = None,
                           config_name: str = 'the config',
                           pretrained: bool = False) -> None:
    """:func:`check_inputs` for command-line tools: print the list and exit
    with status 1 (no traceback) when something is missing."""
    try:
        check_inputs(cfg, mode, checkpoint, config_name, pretrained)
    except MissingInputsError as err:
        raise SystemExit(str(err)) from None


def find_missing(cfg: Config,
                 mode: str,
                 checkpoint: Optional[str] = None,
                 pretrained: bool = False) -> List[str]:
    """One line per missing input: ``<what> <path> (<config keys>): <how to
    get it>``; an input named by several keys is listed once.

    See :func:`check_inputs` for the arguments.
    """
    if mode not in ('train', 'test'):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    loaders = (['train_dataloader', 'val_dataloader']
               if mode == 'train' else ['test_dataloader'])
    items = []
    for loader in loaders:
        if cfg.get(loader) and cfg.get(f'{loader[:-len("_dataloader")]}_cfg',
                                       True):
            items += _missing_data(cfg[loader]['dataset'], f'{loader}.dataset')
    items += _missing_tokenizers(cfg.model, _first_ann_file(cfg))
    if mode == 'train' or pretrained:
        items += _missing_pretrained(cfg.model)
    if mode == 'train':
        checkpoint, key = cfg.get('load_from'), 'load_from'
    else:
        key = 'command line'
    if checkpoint and is_local_path(checkpoint) and not osp.isfile(
            checkpoint):
        items.append(('checkpoint', checkpoint, key,
                      'a file saved by tools/train.py'))
    keys = {}
    for what, path, key, how in items:
        keys.setdefault((what, path, how), []).append(key)
    return [
        f'{what} {path} ({", ".join(k)}): {how}'
        for (what, path, how), k in keys.items()
    ]


def _missing_data(dataset: dict, key: str) -> List[Missing]:
    """Data root and annotation file of a dataset (and wrapped ones)."""
    missing = []
    for name in ('dataset', 'datasets'):
        inner = dataset.get(name)
        inner = inner if isinstance(inner, (list, tuple)) else [inner]
        for i, sub in enumerate(inner):
            if isinstance(sub, dict):
                suffix = f'[{i}]' if name == 'datasets' else ''
                missing += _missing_data(sub, f'{key}.{name}{suffix}')
    root = dataset.get('data_root') or ''
    if root and not osp.isdir(root):
        missing.append(('data root', root, f'{key}.data_root',
                        f'prepare the dataset as in {DATA_DOC}'))
    ann = dataset.get('ann_file')
    if ann and not osp.isfile(osp.join(root, ann)):
        missing.append(('annotation file', osp.join(root, ann),
                        f'{key}.ann_file',
                        f'written by the converters in {DATA_DOC}'))
    return missing


def _first_ann_file(cfg: Config) -> str:
    """The training annotation file (for the tokenizer command)."""
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    while 'ann_file' not in dataset and isinstance(dataset.get('dataset'),
                                                   dict):
        dataset = dataset['dataset']
    if dataset.get('ann_file'):
        return osp.join(dataset.get('data_root') or '', dataset['ann_file'])
    return '<train annotation file>'


def _missing_tokenizers(model: dict, train_ann: str) -> List[Missing]:
    """Caption tokenizer folders (built from the training captions)."""
    return [('caption tokenizer', path, key,
             TOKENIZER_CMD.format(ann=train_ann, out=path))
            for key, path, _ in _walk(model, 'model')
            if key.endswith('.tokenizer') and isinstance(path, str)
            and not osp.isdir(path)]


def _missing_pretrained(model: dict) -> List[Missing]:
    """Pretrained files of ``init_cfg`` checkpoints and ``pretrained``
    sources (CLIP folders or hub names)."""
    missing = []
    for key, value, owner in _walk(model, 'model'):
        if not isinstance(value, str):
            continue
        if key.endswith('init_cfg.checkpoint') and is_local_path(value):
            if not osp.isfile(value):
                missing.append(_pretrained_item(value, key))
        elif key.endswith('.pretrained') and not _source_available(value):
            missing.append(_pretrained_item(
                value, key, 'clip' if owner in CLIP_OWNERS else None))
    return missing


def _pretrained_item(path: str, key: str,
                     kind: Optional[str] = None) -> Missing:
    """A missing pretrained file; known kinds say how to get them."""
    kind = kind or next(
        (k for k, v in PRETRAINED.items()
         if osp.basename(v['path']) == osp.basename(path)), None)
    if kind is None:
        return ('pretrained weights', path, key, 'see docs/pretrained.md')
    return (PRETRAINED[kind]['what'], path, key, how_to_get(kind))


def _source_available(source: str) -> bool:
    """A local file or folder, a cached Hugging Face hub model, or a hub
    name that can be fetched (``HF_HUB_OFFLINE`` unset)."""
    if osp.exists(source):
        return True
    first = source.split('/')[0]
    if not HUB_NAME.fullmatch(source) or osp.isdir(first):
        return False  # a local path that does not exist
    from huggingface_hub import constants, try_to_load_from_cache
    cached = try_to_load_from_cache(source, 'config.json')
    return isinstance(cached, str) or not constants.HF_HUB_OFFLINE


def _walk(node, key: str, owner: Optional[str] = None
          ) -> Iterator[Tuple[str, object, Optional[str]]]:
    """``(dotted key, value, type of the enclosing component)`` of every
    leaf of a config tree."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            owner = node['type']
        for name, value in node.items():
            yield from _walk(value, f'{key}.{name}', owner)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{key}[{i}]', owner)
    else:
        yield key, node, owner

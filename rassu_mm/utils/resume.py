"""Pick a checkpoint to resume from that is actually readable.

A job killed while writing a checkpoint (or a disk that filled up) leaves a
truncated ``iter_N.pth`` that ``last_checkpoint`` still points at, and
``--resume`` then dies in ``torch.load``. :func:`find_resumable_checkpoint`
checks the latest checkpoint's zip structure and CRCs and, if it is broken,
warns and falls back to the newest intact earlier one.
"""
import glob
import os.path as osp
import re
import zipfile
from typing import List, Optional

from mmengine.logging import print_log
from mmengine.runner import find_latest_checkpoint


def is_intact_checkpoint(path: str) -> bool:
    """True when ``path`` is a complete torch zip checkpoint (all CRCs
    match and the pickle of the checkpoint is present)."""
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                return False
            return any(n.endswith('data.pkl') for n in archive.namelist())
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def _checkpoints_newest_first(work_dir: str) -> List[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` files sorted by N, newest first."""
    found = []
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(?:iter|epoch)_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should use in ``work_dir``, or None.

    Starts from the one ``last_checkpoint`` names (MMEngine's choice) and
    walks back through older ``iter_*/epoch_*`` checkpoints while they are
    corrupt, warning about each one skipped.
    """
    latest = find_latest_checkpoint(work_dir)
    candidates = _checkpoints_newest_first(work_dir)
    if latest is not None:
        latest = osp.join(work_dir, osp.basename(latest)) \
            if not osp.isabs(latest) else latest
        if latest in candidates:
            candidates = candidates[candidates.index(latest):]
        else:
            candidates.insert(0, latest)
    for path in candidates:
        if is_intact_checkpoint(path):
            return path
        print_log(
            f'Checkpoint {path} is truncated or corrupt; resuming from the '
            'previous checkpoint instead.',
            logger='current',
            level=30)
    return None

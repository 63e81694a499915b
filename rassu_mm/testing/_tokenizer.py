"""A stand-in caption tokenizer: a small WordPiece vocabulary trained on a
few captions and saved to a folder, for tests and for tools measuring
configs whose tokenizer is not built yet."""
import os.path as osp
from os import PathLike
from typing import Iterable, Optional, Union

from mmengine.config import Config

from rassu_mm.models.utils.tokenization import train_caption_tokenizer
from ._inputs import DEMO_CAPTION


def write_caption_tokenizer(folder: Union[str, PathLike],
                            captions: Iterable[str] = (DEMO_CAPTION, ),
                            vocab_size: int = 60) -> str:
    """Train a WordPiece caption tokenizer of at most ``vocab_size`` tokens
    on ``captions`` (:func:`train_caption_tokenizer`) and save it to
    ``folder``.

    Returns:
        str: ``folder``, as a caption head's ``tokenizer`` takes it.
    """
    folder = str(folder)
    train_caption_tokenizer(
        captions, vocab_size=vocab_size).save_pretrained(folder)
    return folder


def use_stand_in_tokenizer(cfg: Config,
                           folder: str,
                           captions: Iterable[str] = (DEMO_CAPTION, ),
                           vocab_size: int = 60) -> Optional[str]:
    """Point the caption head of ``cfg`` to a stand-in tokenizer written to
    ``folder`` (:func:`write_caption_tokenizer`) when its tokenizer folder
    does not exist.

    Returns:
        str, optional: The missing tokenizer folder it replaced; None when
        the config has no caption head or its tokenizer exists.
    """
    head = cfg.model.get('caption_head')
    if not head or osp.isdir(head.get('tokenizer') or ''):
        return None
    missing = head.get('tokenizer')
    head.tokenizer = write_caption_tokenizer(folder, captions, vocab_size)
    return missing

from rassu_mm.utils.class_names import (F_LIFESCENE_METAINFO,
                                       F_MUSIC_METAINFO, make_palette)
from .audio import AudioFeatureCache, LogMelParams, log_mel_patches
from .errors import ClipDataError
from .f_lifescene import FLifesceneDataset
from .f_music import FMusicDataset
from .ssu_dataset import SSUDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'SSUDataset', 'FMusicDataset', 'FLifesceneDataset', 'ClipDataError',
    'AudioFeatureCache', 'LogMelParams', 'log_mel_patches',
    'F_MUSIC_METAINFO', 'F_LIFESCENE_METAINFO', 'make_palette'
]

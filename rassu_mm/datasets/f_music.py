"""f-Music: 22 instrument classes in 4 super-categories."""
from mmseg.registry import DATASETS
from rassu_mm.utils.class_names import F_MUSIC_METAINFO
from .ssu_dataset import SSUDataset


@DATASETS.register_module()
class FMusicDataset(SSUDataset):
    """The f-Music dataset of RA-SSU in the SSU format.

    ``METAINFO`` fixes the class order (String, Percussion, Keyboard, Wind
    members as in the paper), the super-categories and the palette.
    """
    METAINFO = F_MUSIC_METAINFO

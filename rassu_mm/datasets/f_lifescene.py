"""f-Lifescene: 61 classes in 7 super-categories."""
from mmseg.registry import DATASETS
from rassu_mm.utils.class_names import F_LIFESCENE_METAINFO
from .ssu_dataset import SSUDataset


@DATASETS.register_module()
class FLifesceneDataset(SSUDataset):
    """The f-Lifescene dataset of RA-SSU in the SSU format.

    ``METAINFO`` fixes the class order (Human, Vehicle, Animal, Sport, Tool,
    Nature, Other members as in the paper), the super-categories and the
    palette.
    """
    METAINFO = F_LIFESCENE_METAINFO

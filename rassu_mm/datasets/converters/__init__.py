"""Shared parts of the annotation-export converters
(``tools/dataset_converters/{ytvis,cvat}_to_ssu.py``)."""
from .cli import add_common_args, run_cli, sounding_rule
from .shapes import (box_polygon, coco_segmentation_mask, cvat_rle_mask,
                     ellipse_polygon, polygons_mask)
from .sounding import SoundingRule
from .ssu_writer import (ClipSource, ExportFrame, ExportObject, SSUClipWriter,
                         find_audio, run_jobs, write_annotation)
from .timeline import sample_plan

__all__ = [
    'add_common_args', 'run_cli', 'sounding_rule', 'box_polygon',
    'coco_segmentation_mask', 'cvat_rle_mask', 'ellipse_polygon',
    'polygons_mask',
    'SoundingRule', 'ClipSource', 'ExportFrame', 'ExportObject',
    'SSUClipWriter', 'run_jobs', 'find_audio', 'write_annotation',
    'sample_plan'
]

from .mmi import MMILayer, MultiModalityIntegration
from .query_generator import AudioQueryGenerator

__all__ = ['AudioQueryGenerator', 'MMILayer', 'MultiModalityIntegration']

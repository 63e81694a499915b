"""Drawing of clips (masks + captions) and the test-time hook."""
from .local_visualizer import SSULocalVisualizer
from .visualization_hook import SSUVisualizationHook

__all__ = ['SSULocalVisualizer', 'SSUVisualizationHook']

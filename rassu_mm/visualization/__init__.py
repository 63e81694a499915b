"""Drawing of clips (masks + captions), the test-time hooks and the HTML
pages of results."""
from .html_report import write_results_page, write_video_page
from .local_visualizer import SSULocalVisualizer
from .results_page_hook import SSUResultsPageHook, add_results_page
from .visualization_hook import SSUVisualizationHook

__all__ = [
    'SSULocalVisualizer', 'SSUResultsPageHook', 'SSUVisualizationHook',
    'add_results_page', 'write_results_page', 'write_video_page'
]

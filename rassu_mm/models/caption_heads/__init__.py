from .generation import beam_search, greedy_search
from .hierarchical_prompt import HierarchicalPrompter
from .moe import MoEFeedForward
from .mohe_caption_head import MoHECaptionHead
from .text_decoder import DecodeState, MoETextDecoder

__all__ = [
    'MoHECaptionHead', 'MoETextDecoder', 'DecodeState', 'MoEFeedForward',
    'HierarchicalPrompter', 'greedy_search', 'beam_search'
]

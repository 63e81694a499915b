from .attention import KVCache, SDPAttention
from .rng import draw_seeds, rng_stream

__all__ = ['KVCache', 'SDPAttention', 'draw_seeds', 'rng_stream']

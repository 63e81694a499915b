from .attention import KVCache, SDPAttention

__all__ = ['KVCache', 'SDPAttention']

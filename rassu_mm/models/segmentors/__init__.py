from .ssuformer import SSUFormer

__all__ = ['SSUFormer']

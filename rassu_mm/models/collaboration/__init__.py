from .mask_collaboration import MaskCollaborationModule

__all__ = ['MaskCollaborationModule']

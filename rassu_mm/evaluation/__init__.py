"""Evaluation of masks and captions (:class:`SSUMetric`)."""
from .metrics import SSUMetric

__all__ = ['SSUMetric']

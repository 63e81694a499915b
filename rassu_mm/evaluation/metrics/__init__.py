from .ssu_metric import SSUMetric

__all__ = ['SSUMetric']

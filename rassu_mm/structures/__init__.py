from .ssu_data_sample import SSUDataSample

__all__ = ['SSUDataSample']

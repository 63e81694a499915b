from .caption_scores import (CAPTION_KEYS, java_available, python_ptb_tokenize,
                             score_captions, shared_meteor, tokenize_captions)
from .mask_scores import (BETA2, NUM_THRESHOLDS, THRESHOLDS,
                          avsbench_batch_scores, avss_class_scores,
                          binary_frame_stats, binary_scores, fscore_curves,
                          semantic_frame_stats)

__all__ = [
    'BETA2', 'CAPTION_KEYS', 'NUM_THRESHOLDS', 'THRESHOLDS',
    'avsbench_batch_scores', 'avss_class_scores', 'binary_frame_stats',
    'binary_scores', 'fscore_curves', 'java_available', 'python_ptb_tokenize',
    'score_captions', 'semantic_frame_stats', 'shared_meteor',
    'tokenize_captions'
]

"""Every trainable parameter of the full models takes part in each training
step, so plain DDP (``find_unused_parameters=False``) can train them.

DDP raises at the next step when a parameter that requires a gradient was
left out of the backward graph. The MoHE experts are stacked tensors, so an
expert that no token chose still gets a (zero) gradient, in the sparse
dispatch (CPU training) and in the dense one (accelerators, inference).
"""
import pytest
from mmengine.dataset import pseudo_collate

from rassu_mm.models.caption_heads.moe import MoEFeedForward
from rassu_mm.testing import (build_tiny_model, demo_clip,
                              write_caption_tokenizer)

CAPTIONS = ['The red triangle on the left is sounding.',
            'The blue circle on the right is sounding.']
# two sounding classes of each hierarchy
CLASSES = {
    'SSU-Demo': ['red triangle', 'blue circle'],
    'SSU-Synthetic-Hard': ['triangle', 'circle'],
}


def caption_batch(dataset_name: str) -> dict:
    """Two clips of two frames; the second frame of each has no caption."""
    return pseudo_collate([
        demo_clip((64, 64),
                  seed=seed,
                  captions=[CAPTIONS[seed], None],
                  categories=[CLASSES[dataset_name][seed]],
                  dataset_name=dataset_name,
                  clip_id=str(seed)) for seed in range(2)
    ])


@pytest.mark.parametrize('dispatch', ['sparse', 'dense'])
@pytest.mark.parametrize('config,dataset_name', [
    ('ssuformer_demo.py', 'SSU-Demo'),
    ('ablations/ssuformer_hard_full.py', 'SSU-Synthetic-Hard'),
])
def test_every_trainable_parameter_is_in_the_graph(tmp_path, monkeypatch,
                                                   config, dataset_name,
                                                   dispatch):
    if dispatch == 'dense':
        monkeypatch.setattr(MoEFeedForward, '_sparse', MoEFeedForward._dense)
    write_caption_tokenizer(tmp_path, CAPTIONS, vocab_size=100)
    head = {}
    if 'hard' in config:  # the region losses read the caption tokenizer
        head = {
            loss: dict(tokenizer=str(tmp_path))
            for loss in ('loss_clip', 'loss_rcc')
        }
    model = build_tiny_model(
        config, tokenizer=str(tmp_path), caption_head=head)
    model.train()
    losses = model(
        **model.data_preprocessor(caption_batch(dataset_name), True),
        mode='loss')
    assert 'loss_caption' in losses
    model.parse_losses(losses)[0].backward()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any('experts' in n or '.w1' in n for n in trainable)
    assert [
        n for n, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ] == []

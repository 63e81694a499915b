"""SSUFormer (demo config, half width) with the real MCM and MoHE
caption head."""
import torch
from mmengine.dataset import pseudo_collate

from rassu_mm.testing import (build_tiny_model, demo_clip,
                              write_caption_tokenizer)

CAPTIONS = ['The red triangle on the left is sounding.',
            'The blue circle on the right is sounding.']
CLASSES = ['red triangle', 'blue circle']


def test_ssuformer_with_caption_branch_trains_and_predicts(tmp_path):
    write_caption_tokenizer(tmp_path, CAPTIONS, vocab_size=100)
    model = build_tiny_model('ssuformer_demo.py', tokenizer=str(tmp_path))
    data = pseudo_collate([
        demo_clip((64, 64),
                  seed=seed,
                  captions=[CAPTIONS[seed], None],
                  categories=[CLASSES[seed]],
                  dataset_name='SSU-Demo',
                  clip_id=str(seed)) for seed in range(2)
    ])
    model.train()
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert {'loss_caption', 'loss_cls_category', 'loss_balance'} <= set(
        losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert model.mask_collaboration.proj[1].weight.grad.abs().sum() > 0
    assert model.caption_head.decoder.token_embed.weight.grad is not None
    clip = model.mask_collaboration.clip
    assert all(p.grad is None for p in clip.parameters())

    model.eval()
    with torch.no_grad():
        samples = model(**model.data_preprocessor(data, False),
                        mode='predict')
    assert [len(s.pred_captions) for s in samples] == [2, 2]
    assert all(isinstance(c, str) for s in samples for c in s.pred_captions)


def test_predictions_never_read_ground_truth(tmp_path):
    """Masks and captions are the same with and without ground truth in
    the data samples (prompts come from the classifier, MCM from the
    predicted masks)."""
    write_caption_tokenizer(tmp_path, CAPTIONS, vocab_size=100)
    model = build_tiny_model('ssuformer_demo.py',
                             tokenizer=str(tmp_path)).eval()

    def predict(with_gt):
        data = pseudo_collate([
            demo_clip((64, 64),
                      seed=seed,
                      captions=[CAPTIONS[1 - seed]] * 2,
                      categories=[CLASSES[seed]],
                      with_gt=with_gt,
                      dataset_name='SSU-Demo',
                      clip_id=str(seed)) for seed in range(2)
        ])
        with torch.no_grad():
            return model(**model.data_preprocessor(data, False),
                         mode='predict')

    with_gt, without_gt = predict(True), predict(False)
    assert 'gt_sem_seg' in with_gt[0] and 'gt_sem_seg' not in without_gt[0]
    for a, b in zip(with_gt, without_gt):
        assert a.pred_captions == b.pred_captions
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)

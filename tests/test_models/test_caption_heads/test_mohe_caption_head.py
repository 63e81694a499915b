import pytest
import torch
from mmengine.structures import PixelData

from rassu_mm.models.caption_heads import (DecodeState, MoEFeedForward,
                                           MoHECaptionHead, beam_search,
                                           greedy_search)
from rassu_mm.models.caption_heads.text_decoder import decode_step
from rassu_mm.structures import SSUDataSample
from rassu_mm.testing import HostSyncRecorder, write_caption_tokenizer

CLASSES = ['violin', 'cello', 'flute', 'drum']
SUPER = dict(String=['violin', 'cello'], Wind=['flute'], Percussion=['drum'])
DATASETS = ['f-Music', 'f-Lifescene']
CAPTIONS = [
    'The woman on the left is playing a flute.',
    'The man on the right is playing the cello.',
    'The boy in the middle is playing the drum.',
    'The girl on the left is playing the violin, while the man plays a drum.',
]
B, T, L, C = 2, 3, 6, 24


@pytest.fixture(scope='module')
def tokenizer(tmp_path_factory):
    return write_caption_tokenizer(
        tmp_path_factory.mktemp('tok'), CAPTIONS, vocab_size=300)


def _head(tokenizer, **kwargs):
    torch.manual_seed(0)
    cfg = dict(tokenizer=tokenizer, in_channels=C, embed_dims=32,
               num_layers=2, num_heads=4, feedforward_channels=48,
               num_experts=3, top_k=2, dropout=0., classes=CLASSES,
               super_categories=SUPER, dataset_names=DATASETS,
               generation=dict(max_length=12), ignore_index=255)
    cfg.update(kwargs)
    return MoHECaptionHead(**cfg)


def _samples(captions=None):
    captions = captions or [CAPTIONS[:3], CAPTIONS[1:]]
    cats = [['flute', 'cello'], ['violin', 'drum']]
    samples = []
    for b in range(B):
        ds = SSUDataSample(metainfo=dict(dataset_name='f-Music',
                                         num_frames=T, clip_id=str(b)))
        ds.gt_captions = captions[b]
        ds.categories = cats[b]
        samples.append(ds)
    return samples


def _neck_outs(requires_grad=False):
    torch.manual_seed(1)
    memory = torch.randn(B * T, L, C, requires_grad=requires_grad)
    return dict(memory=memory, region_embeds=None, num_frames=T)


def test_loss_keys_and_backward(tokenizer):
    head = _head(tokenizer).train()
    losses = head.loss(_neck_outs(), _samples())
    assert set(losses) == {
        'loss_caption', 'acc_caption', 'loss_balance', 'loss_cls_category',
        'loss_cls_super', 'loss_cls_dataset'
    }
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    assert head.decoder.token_embed.weight.grad.abs().sum() > 0
    assert head.prompter.fc_super.weight.grad.abs().sum() > 0
    assert head.prompter.category_embed.weight.grad.abs().sum() > 0


def test_frames_without_caption_skip_the_caption_loss(tokenizer):
    head = _head(tokenizer).train()
    captions = [[CAPTIONS[0], None, CAPTIONS[2]], [None, None, CAPTIONS[3]]]
    outs = _neck_outs(requires_grad=True)
    losses = head.loss(outs, _samples(captions))
    losses['loss_caption'].backward()
    grad_norm = outs['memory'].grad.flatten(1).abs().sum(1)
    assert (grad_norm[[1, 3, 4]] == 0).all()
    assert (grad_norm[[0, 2, 5]] > 0).all()
    # the same loss as a batch of only the captioned frames' memory
    other = dict(outs, memory=outs['memory'].detach().clone())
    other['memory'][[1, 3, 4]] = 5.
    torch.testing.assert_close(
        head.loss(other, _samples(captions))['loss_caption'],
        losses['loss_caption'])


def test_all_frames_without_caption_give_zero_loss(tokenizer):
    head = _head(tokenizer, classes=None).train()
    losses = head.loss(_neck_outs(), _samples([[None] * T] * B))
    assert losses['loss_caption'] == 0 and losses['loss_balance'] == 0
    sum(losses.values()).backward()  # the graph is valid


def _eos_prone_head(tokenizer, seed):
    """A random head (weights of std 0.3, an 8x EOS embedding) whose frames
    end at different steps, some before ``max_length``."""
    head = _head(tokenizer).eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in head.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.3)
        head.decoder.token_embed.weight[head.tokenizer.eos_id] *= 8
    return head


def _reference_generate(head, outs, samples, **cfg):
    """The decoding before the static cache: every step re-runs the whole
    sequence, the MoE dispatches sparsely (its training path on the CPU)
    and "all rows ended" is read after every step."""
    moes = [m for m in head.modules() if isinstance(m, MoEFeedForward)]
    for moe in moes:
        moe.train()
    try:
        return head.generate(outs, samples, use_cache=False,
                             eos_check_interval=1, **cfg)
    finally:
        for moe in moes:
            moe.eval()


@pytest.mark.parametrize('strategy', ['greedy', 'beam'])
def test_static_cache_decoding_equals_the_reference(tokenizer, strategy):
    """Static cache, dense MoE and EOS read every 8 (or 3) steps give the
    reference's tokens, early stops included."""
    outs, samples = _neck_outs(), _samples()
    lengths = set()
    for seed in range(4):
        head = _eos_prone_head(tokenizer, seed)
        ref = _reference_generate(head, outs, samples, strategy=strategy)
        for interval in (8, 3):
            ids = head.generate(outs, samples, strategy=strategy,
                                eos_check_interval=interval)
            assert torch.equal(ids, ref)
        ended = (ref == head.tokenizer.eos_id).any(1)
        lengths.add(ref.shape[1])
        assert 0 < ended.sum() <= len(ref)
    assert min(lengths) < 12  # some decodes stopped early


def test_decode_step_compiles_without_graph_breaks(tokenizer):
    head = _head(tokenizer).eval()
    outs, samples = _neck_outs(), _samples()
    with torch.no_grad():
        memory, memory_pos = head._memory(outs)
        prefix, context = head._predicted_prompts(memory, samples, T)
        state = DecodeState(head.decoder, memory, prefix, context, True, 12,
                            memory_pos)
        bos = torch.full((B * T, 1), head.tokenizer.bos_id)
        state.log_probs(bos)  # the prefix pass fills the caches
        explain = torch._dynamo.explain(decode_step)(
            head.decoder, bos, state.position + 1, context, state.cache)
    assert explain.graph_break_count == 0
    assert explain.graph_count == 1


@pytest.mark.parametrize('strategy', ['greedy', 'beam'])
def test_compiled_decoding_equals_eager(tokenizer, strategy):
    """``generation=dict(compile=...)``: the same tokens (AOT autograd
    tracing; ``compile=True`` uses inductor, see benchmark_generation)."""
    head = _eos_prone_head(tokenizer, 0)
    outs, samples = _neck_outs(), _samples()
    eager = head.generate(outs, samples, strategy=strategy)
    compiled = head.generate(outs, samples, strategy=strategy,
                             compile=dict(backend='aot_eager'))
    assert torch.equal(compiled, eager)
    with pytest.raises(ValueError, match='use_cache'):
        head.generate(outs, samples, compile=True, use_cache=False)


@pytest.mark.parametrize('strategy', ['greedy', 'beam'])
@pytest.mark.parametrize('interval', [1, 5])
def test_host_syncs_per_generate(tokenizer, strategy, interval):
    """Without EOS: one "all ended" read every ``interval`` steps (none
    after the last) and one for the output length; the MoE adds none."""
    head = _head(tokenizer).eval()
    head.tokenizer.eos_id = -1
    outs, samples = _neck_outs(), _samples()
    with HostSyncRecorder() as syncs:
        head.generate(outs, samples, strategy=strategy,
                      eos_check_interval=interval)
    assert len(syncs.events) == (12 - 1) // interval + 1, syncs.events
    assert all('caption_heads/generation.py' in site
               for _, site in syncs.events)


@pytest.mark.parametrize('use_cache', [True, False])
def test_beam_size_one_equals_greedy(tokenizer, use_cache):
    head = _head(tokenizer).eval()
    outs, samples = _neck_outs(), _samples()
    greedy = head.generate(outs, samples, strategy='greedy',
                           use_cache=use_cache)
    beam = head.generate(outs, samples, strategy='beam', beam_size=1,
                         use_cache=use_cache)
    assert torch.equal(greedy, beam)


def test_predict_returns_clip_lists(tokenizer):
    """Clip ``b``'s list holds the decoded captions of its own frames
    ``b*T .. b*T+T-1``, in order, without special tokens."""
    head = _head(tokenizer).eval()
    outs, samples = _neck_outs(), _samples()
    ids = head.generate(outs, samples)
    texts = head.tokenizer.decode(ids)
    assert len(set(texts)) > 1  # frames differ, so the order is checked
    captions = head.predict(outs, samples)
    assert captions == [texts[b * T:(b + 1) * T] for b in range(B)]
    specials = set(head.tokenizer.tokenizer.all_special_tokens)
    assert not any(w in specials for t in texts for w in t.split())
    # the untrained decoder happens to generate no special token before
    # EOS: with BOS, UNK and PAD in front of each row the captions stay
    tok = head.tokenizer
    noise = torch.tensor([tok.bos_id, tok.tokenizer.unk_token_id, tok.pad_id])
    noisy = torch.cat([noise.expand(len(ids), -1), ids], 1)
    head.generate = lambda *args, **kwargs: noisy
    try:
        assert head.predict(outs, samples) == captions
    finally:
        del head.generate
    # the clips in the other order: the lists swap with them
    swapped = dict(outs, memory=torch.cat([outs['memory'][T:],
                                           outs['memory'][:T]]))
    assert head.predict(swapped, samples[::-1]) == captions[::-1]


def test_plain_decoder_without_prompts_or_experts(tokenizer):
    """``classes=None, num_experts=1``: no classifier or prompts (the
    clips' labels change nothing), each FFN is its one expert, and the
    caption loss is the plain teacher-forced cross-entropy."""
    head = _head(tokenizer, classes=None, num_experts=1, top_k=1).eval()
    assert head.prompter is None
    outs, samples = _neck_outs(), _samples()
    losses = head.loss(outs, samples)
    assert set(losses) == {'loss_caption', 'acc_caption'}
    captions = [c for ds in samples for c in ds.gt_captions]
    ids, mask = head.tokenizer.encode(captions, head.max_train_length)
    # no prompt prefix: the decoder sees BOS first
    logits, _ = head.decoder(ids[:, :-1], head.input_proj(outs['memory']))
    targets = ids[:, 1:].masked_fill(~mask[:, 1:], -100)
    torch.testing.assert_close(losses['loss_caption'],
                               head.loss_caption(logits, targets))
    # token accuracy over the real tokens
    hits = (logits.argmax(-1) == targets)[mask[:, 1:]]
    torch.testing.assert_close(losses['acc_caption'], hits.float().mean())
    # the untrained decoder hits no token (accuracy 0 whatever is counted):
    # one that always predicts EOS hits each caption once, at its end, so
    # the accuracy is 1 / real tokens per caption, not 1 / all positions
    assert mask[:, 1:].sum() < mask[:, 1:].numel()  # captions are padded
    eos = head.tokenizer.eos_id

    def always_eos(module, args, output):
        logits, aux = output
        logits = logits.clone()
        logits[..., eos] += 1e4
        return logits, aux

    hook = head.decoder.register_forward_hook(always_eos)
    try:
        acc = head.loss(outs, samples)['acc_caption']
    finally:
        hook.remove()
    torch.testing.assert_close(
        acc, torch.tensor(len(captions) / mask[:, 1:].sum().item()))
    # one expert: its output, gated by probability 1
    ffn = head.decoder.layers[0].ffn
    x = torch.randn(5, 32)
    torch.testing.assert_close(ffn(x)[0], ffn.expert(0, x))
    # without prompts nothing of the clips' labels or dataset is read
    other = _samples()
    for ds in other:
        ds.set_metainfo(dict(dataset_name='f-Lifescene'))
        ds.categories = ['drum']
    assert head.predict(outs, other) == head.predict(outs, samples)


def test_prompter_labels(tokenizer):
    prompter = _head(tokenizer).prompter
    targets = prompter.targets(_samples(), T)
    # without semantic masks every frame takes its clip's categories
    assert targets['category'].tolist() == [[0, 1, 1, 0]] * T + [
        [1, 0, 0, 1]] * T
    assert targets['super'].tolist() == [[1, 1, 0]] * T + [[1, 0, 1]] * T
    assert targets['dataset'].tolist() == [[1, 0]] * (B * T)
    pooled = torch.randn(B * T, 32)
    logits = prompter.classify(pooled)
    torch.testing.assert_close(  # a category logit adds its group's logit
        logits['category'] - logits['super'][:, [0, 0, 1, 2]],
        prompter.fc_category(prompter.mlp(pooled)))
    logits['category'] = torch.tensor([[5., -5, -5, -5], [-5, -5, -5, -4]])
    labels = prompter.predict(logits, _samples()[:1], 2)
    assert labels['category'].tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    assert labels['super'].tolist() == [[1, 0, 0], [0, 0, 1]]
    assert labels['dataset'].tolist() == [[1, 0], [1, 0]]
    assert prompter(labels).shape == (2, 3, 32)
    with pytest.raises(KeyError):
        prompter.targets([SSUDataSample(metainfo=dict(dataset_name='x'),
                                        categories=['piano'])], 1)


def _semantic_samples():
    """Clip 0: frames with flute (3), cello+flute (2, 3), no mask (255);
    clip 1: violin (1), background only, drum (4)."""
    samples = _samples()
    seg = torch.zeros(B, T, 8, 8, dtype=torch.long)
    seg[0, 0, :4] = 3
    seg[0, 1, :2], seg[0, 1, 6:] = 2, 3
    seg[0, 2] = 255
    seg[1, 0, 3:5, 3:5] = 1
    seg[1, 2, :, :3] = 4
    seg[1, 2, 0, 0] = 255  # ignored pixels do not count
    for ds, clip_seg in zip(samples, seg):
        ds.set_metainfo(dict(seg_mode='semantic'))
        ds.gt_sem_seg = PixelData(data=clip_seg)
    return samples


def test_per_frame_labels_from_semantic_masks(tokenizer):
    prompter = _head(tokenizer).prompter
    targets = prompter.targets(_semantic_samples(), T)
    # CLASSES = violin, cello, flute, drum; the frame without a mask takes
    # its clip's categories (flute, cello)
    assert targets['category'].tolist() == [
        [0, 0, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0],
        [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    assert targets['super'].tolist() == [
        [0, 1, 0], [1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_classifier_and_prompts_are_per_frame(tokenizer):
    head = _head(tokenizer).eval()
    outs, samples = _neck_outs(), _samples()
    memory = head.input_proj(outs['memory'])
    prefix, context = head._predicted_prompts(memory, samples, T)
    assert prefix.shape == (B * T, 3, 32)
    assert context.shape == (B * T, 3 * 32)
    # a frame's prompts follow its own memory only
    other = dict(outs, memory=outs['memory'].clone())
    other['memory'][1] += 3.
    prefix2, _ = head._predicted_prompts(head.input_proj(other['memory']),
                                         samples, T)
    changed = (prefix2 - prefix).abs().flatten(1).amax(1) > 0
    assert changed.tolist() == [False, True, False, False, False, False]
    # soft prompts: probability-weighted label embeddings
    logits = head.prompter.classify(memory.mean(1))
    probs = logits['category'].sigmoid()
    expected = (probs / probs.sum(1, keepdim=True).clamp(min=1)
                ) @ head.prompter.category_embed.weight
    torch.testing.assert_close(prefix[:, 2], expected)


def test_training_uses_the_inference_prompts(tokenizer):
    """Soft predicted prompts in training and inference: the teacher-forced
    logits of training equal those of inference for the same tokens."""
    head = _head(tokenizer).eval()  # eval: no dropout
    outs, samples = _neck_outs(), _samples()
    captions = [c for ds in samples for c in ds.gt_captions]
    ids, mask = head.tokenizer.encode(captions, head.max_train_length)
    inference = head.forward_teacher_forced(outs, ids[:, :-1], samples)
    targets = ids[:, 1:].masked_fill(~mask[:, 1:], -100)
    expected = head.loss_caption(inference, targets)
    torch.testing.assert_close(head.loss(outs, samples)['loss_caption'],
                               expected)


def test_ground_truth_prompt_source_trains_on_labels(tokenizer):
    head = _head(tokenizer, prompt_source='ground_truth').eval()
    outs, samples = _neck_outs(), _samples()
    loss = head.loss(outs, samples)['loss_caption']
    # the categories of clip 1 swapped: a different ground-truth prompt
    samples[1].categories = ['flute', 'cello']
    assert (head.loss(outs, samples)['loss_caption'] - loss).abs() > 1e-6
    with pytest.raises(ValueError, match='prompt_source'):
        _head(tokenizer, prompt_source='labels')


@pytest.mark.parametrize('prompt_source', ['predicted', 'ground_truth'])
def test_predictions_never_read_ground_truth(tokenizer, prompt_source):
    head = _head(tokenizer, prompt_source=prompt_source).eval()
    outs = _neck_outs()
    expected = head.predict(outs, _semantic_samples())
    bare = []
    for ds in _semantic_samples():
        del ds.gt_captions, ds.categories, ds.gt_sem_seg
        bare.append(ds)
    assert head.predict(outs, bare) == expected
    other = _semantic_samples()
    other[0].categories, other[1].categories = ['drum'], ['violin']
    other[0].gt_captions = [CAPTIONS[3]] * T
    assert head.predict(outs, other) == expected


def test_memory_positions_are_added_to_the_keys(tokenizer):
    head = _head(tokenizer).eval()
    outs, samples = _neck_outs(), _samples()
    torch.manual_seed(2)
    pos = torch.randn(B * T, L, C)
    ids = torch.full((B * T, 4), head.tokenizer.bos_id)
    plain = head.forward_teacher_forced(outs, ids, samples)
    with_pos = head.forward_teacher_forced(dict(outs, memory_pos=pos), ids,
                                           samples)
    assert (with_pos - plain).abs().max() > 1e-4
    # zero positions are no positions
    torch.testing.assert_close(
        head.forward_teacher_forced(
            dict(outs, memory_pos=torch.zeros_like(pos)), ids, samples),
        plain)
    # the memory values are not shifted: with a single memory token the
    # softmax weight is 1 whatever the keys are
    one = dict(outs, memory=outs['memory'][:, :1])
    torch.testing.assert_close(
        head.forward_teacher_forced(dict(one, memory_pos=pos[:, :1]), ids,
                                    samples),
        head.forward_teacher_forced(one, ids, samples))
    cached = head.generate(dict(outs, memory_pos=pos), samples,
                           use_cache=True)
    assert torch.equal(
        cached, _reference_generate(head, dict(outs, memory_pos=pos),
                                    samples))


def test_teacher_forced_length_reads_bos_then_pad(tokenizer):
    """A length instead of token ids: the head builds BOS followed by PAD
    from its own tokenizer (what FLOPs counting feeds)."""
    head = _head(tokenizer).eval()
    outs, samples = _neck_outs(), _samples()
    tok = head.tokenizer
    assert tok.bos_id != tok.pad_id
    ids = torch.full((B * T, 5), tok.pad_id)
    ids[:, 0] = tok.bos_id
    logits = head.forward_teacher_forced(outs, 5, samples)
    assert logits.shape == (B * T, 5, tok.vocab_size)
    torch.testing.assert_close(
        logits, head.forward_teacher_forced(outs, ids, samples),
        rtol=0, atol=0)
    # causal: the first position sees BOS only, whatever follows it
    torch.testing.assert_close(
        logits[:, 0],
        head.forward_teacher_forced(outs, 1, samples)[:, 0])


class _TableState:
    """Next-token distribution depends only on the last token."""
    # vocab: 0 pad, 1 unk, 2 bos, 3 eos, 4 'a', 5 'b'
    TABLE = {2: {4: .6, 5: .4}, 4: {3: .5, 4: .25, 5: .25},
             5: {3: .9, 4: .05, 5: .05}}

    def __init__(self, n):
        self.memory = torch.zeros(n, 1, 1)

    def expand(self, repeats):
        self.memory = self.memory.repeat_interleave(repeats, 0)

    def log_probs(self, tokens):
        out = torch.full((len(tokens), 6), 1e-9)
        for i, last in enumerate(tokens[:, -1].tolist()):
            for tok, p in self.TABLE.get(last, {0: 1.}).items():
                out[i, tok] = p
        return out.log()

    def reorder(self, index):
        pass  # the next-token table is the same for every row


def test_greedy_and_beam_eos_handling():
    greedy = greedy_search(_TableState(2), 2, 5, 2, 3, 0)
    assert greedy.tolist() == [[4, 3]] * 2  # stops once every row ended
    beam = beam_search(_TableState(2), 2, 5, 2, 3, 0, beam_size=2,
                       length_penalty=0.)
    assert beam.tolist() == [[5, 3]] * 2  # 0.4 * 0.9 > 0.6 * 0.5


@pytest.mark.slow
def test_overfits_captions_and_generates_them(tokenizer):
    head = _head(tokenizer, num_layers=1,
                 generation=dict(max_length=24)).train()
    outs, samples = _neck_outs(), _samples()
    opt = torch.optim.AdamW(head.parameters(), lr=1e-2)
    for _ in range(60):
        losses = head.loss(outs, samples)
        opt.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        opt.step()
    head.eval()
    expected = [[c.lower() for c in clip.gt_captions] for clip in samples]
    for cfg in (dict(strategy='greedy'), dict(strategy='beam'),
                dict(strategy='greedy', use_cache=False)):
        head.generation.update(cfg)
        assert head.predict(outs, samples) == expected


def test_semantic_targets_read_the_ignore_index(tokenizer):
    """A frame all ``ignore_index`` has no mask (its clip's categories);
    with another ignore label the same frame is a mask without classes."""
    samples = _semantic_samples()  # clip 0, frame 2 is all 255
    targets = _head(tokenizer).prompter.targets(samples, T)
    assert targets['category'][2].tolist() == [0, 1, 1, 0]
    other = _head(tokenizer, ignore_index=254).prompter.targets(samples, T)
    assert other['category'][2].tolist() == [0, 0, 0, 0]
    with pytest.raises(ValueError, match='ignore_index'):
        _head(tokenizer, ignore_index=None).prompter.targets(samples, T)

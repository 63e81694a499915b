"""Pretrain sr-Music's stand-in encoders on its training split.

The paper's SSUFormer rests on pretrained encoders (an ImageNet backbone,
AudioSet VGGish, CLIP) that cannot be downloaded here, so sr-Music gets
stand-ins for its domain, trained on the ``train`` split only and evaluated
on the held-out ``test`` and ``test_real`` splits (``docs/semireal.md``):

- ``audio``: the config's audio encoder + a linear head, recognising the
  instruments sounding in each one-second window (multi-label: single
  sources, mixtures, silence); saved as the encoder's state dict.
- ``backbone``: the config's backbone + a small dense head, labelling every
  pixel with the instrument seen there (0: background), i.e. objectness and
  class; saved as the backbone's state dict (for its ``init_cfg``);
  ``--concept-share`` pastes a concept icon over that share of its frames
  as one more class, "other object".
- ``clip``: a small ``transformers`` ``CLIPModel`` trained contrastively on
  masked frames (one object, or the sounding objects) and their phrases or
  captions, saved with its tokenizer as a folder (for ``clip_pretrained``);
  ``--concept-share`` mixes named non-instrument icons into its batches
  (``rassu_mm/datasets/concept_pictures.py``).

Each writes ``<out>.json`` (``<out>/report.json`` for CLIP) with its
accuracies. Example::

    python tools/misc/pretrain_semireal.py audio \
        configs/semireal/ssuformer_sr_music.py
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from tqdm import tqdm

from mmseg.registry import MODELS

from rassu_mm.datasets.batch_augment import augment_pairs, box_crops
from rassu_mm.datasets.concept_pictures import (load_concepts,
                                                overlay_concepts,
                                                paste_concepts)

CLIP_SIZES = dict(
    vision=dict(
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        image_size=64,
        patch_size=8),
    text=dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=48),
    projection_dim=64)
PHRASES = ('a {cls}', 'a {style} {cls}', 'the {desc}')


def load_clips(data_root: str, split: str) -> List[dict]:
    with open(osp.join(data_root, 'annotations', f'{split}.json')) as f:
        return json.load(f)['clips']


def class_names() -> Tuple[str, ...]:
    from rassu_mm.datasets.semireal import SR_MUSIC_CLASSES
    return SR_MUSIC_CLASSES


# ---------------------------------------------------------------- audio
def audio_examples(data_root: str,
                   clips: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
    """The log-mel window of every frame, as ``LoadClipAudio`` computes it
    (float32 ``[N, 1, 96, 64]``), and the multi-hot sounding classes
    (float32 ``[N, C]``)."""
    from rassu_mm.datasets.audio import LogMelParams, log_mel_patches
    from rassu_mm.datasets.semireal import read_wav
    params, classes = LogMelParams(), class_names()
    feats, labels = [], []
    for clip in tqdm(clips, desc='log-mel', leave=False):
        wave, rate = read_wav(osp.join(data_root, clip['audio']))
        assert rate == params.sample_rate, clip['audio']
        feats.append(log_mel_patches(wave, len(clip['frames']), 1, params))
        for frame in clip['frames']:
            target = np.zeros(len(classes), np.float32)
            target[[classes.index(c) for c in frame['categories']]] = 1
            labels.append(target)
    return np.concatenate(feats), np.stack(labels)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes with positives of the average precision."""
    aps = []
    for c in range(labels.shape[1]):
        if labels[:, c].sum() == 0:
            continue
        order = np.argsort(-scores[:, c])
        hits = labels[order, c]
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append(float((precision * hits).sum() / hits.sum()))
    return float(np.mean(aps))


def audio_metrics(scores: np.ndarray, labels: np.ndarray) -> dict:
    """mAP, exact-set accuracy at 0.5 and top-1 on single-source windows."""
    single = labels.sum(1) == 1
    return dict(
        mAP=average_precision(scores, labels),
        set_accuracy=float(((scores > 0.5) == (labels > 0)).all(1).mean()),
        single_source_top1=float(
            (scores[single].argmax(1) == labels[single].argmax(1)).mean()))


def pretrain_audio(cfg: Config, args) -> dict:
    encoder_cfg = dict(cfg.model.audio_encoder, init_cfg=None, frozen=False)
    encoder = MODELS.build(encoder_cfg)
    head = nn.Linear(encoder.embed_dims, len(class_names()))
    model = nn.Sequential(encoder, head)
    x, y = audio_examples(args.data_root, load_clips(args.data_root, 'train'))
    train_loop(model, [torch.from_numpy(x), torch.from_numpy(y)],
               lambda out, t: F.binary_cross_entropy_with_logits(out, t),
               args)
    report = dict(num_train_windows=len(x))
    for split in ('test', 'test_real'):
        xs, ys = audio_examples(args.data_root,
                                load_clips(args.data_root, split))
        scores = predict(model, torch.from_numpy(xs)).sigmoid().numpy()
        report[split] = audio_metrics(scores, ys)
    save_state(encoder, args.out)
    return report


# ------------------------------------------------------------- backbone
def frame_examples(data_root: str, asset_root: str, clips: List[dict]
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """Frame 0 of every clip (uint8 RGB ``[N, H, W, 3]``) and the class + 1
    of the object seen at each pixel (int64 ``[N, H, W]``, 0 background)."""
    from rassu_mm.datasets.semireal import object_map
    classes = class_names()
    images, labels = [], []
    for clip in tqdm(clips, desc='frames', leave=False):
        img = cv2.imread(osp.join(data_root, clip['frames'][0]['image']))
        images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        index = object_map(clip, asset_root, img.shape[:2])
        lut = np.array([0] + [classes.index(o['class']) + 1
                              for o in clip['objects']])
        labels.append(lut[index + 1])
    return np.stack(images), np.stack(labels).astype(np.int64)


class DenseHead(nn.Module):
    """Per-pixel class logits from the backbone's multi-scale outputs:
    each level projected by a 1x1 conv, upsampled to the finest, summed."""

    def __init__(self, in_channels: List[int], num_classes: int):
        super().__init__()
        self.projs = nn.ModuleList(
            nn.Conv2d(c, 64, 1) for c in in_channels)
        self.cls = nn.Sequential(nn.ReLU(), nn.Conv2d(64, num_classes, 1))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        size = feats[0].shape[-2:]
        x = sum(
            F.interpolate(p(f), size=size, mode='bilinear',
                          align_corners=False)
            for p, f in zip(self.projs, feats))
        return self.cls(x)


class BackboneWithHead(nn.Module):
    """Normalises uint8 RGB ``[N, H, W, 3]`` as the config's data
    preprocessor does; logits at the input size ``[N, C + 1, H, W]``."""

    def __init__(self, backbone: nn.Module, head: nn.Module, mean, std):
        super().__init__()
        self.backbone, self.head = backbone, head
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.permute(0, 3, 1, 2).float() - self.mean) / self.std
        logits = self.head(self.backbone(x))
        return F.interpolate(
            logits, size=images.shape[1:3], mode='bilinear',
            align_corners=False)


def segmentation_metrics(pred: np.ndarray, labels: np.ndarray,
                         num_classes: int) -> dict:
    """Pixel accuracy, mIoU over the classes present in ``labels``,
    objectness IoU (any class but 0, "other object" included)."""
    ious = []
    for c in range(num_classes):
        union = ((pred == c) | (labels == c)).sum()
        if (labels == c).any():
            ious.append(((pred == c) & (labels == c)).sum() / union)
    fg_pred, fg = pred > 0, labels > 0
    return dict(
        pixel_accuracy=float((pred == labels).mean()),
        mIoU=float(np.mean(ious)),
        objectness_IoU=float((fg_pred & fg).sum() / (fg_pred | fg).sum()))


def pretrain_backbone(cfg: Config, args) -> dict:
    backbone = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    concepts = (load_concepts(args.concepts)[0]
                if args.concept_share > 0 else [])
    # background, the instruments and, with concepts, "other object"
    num_classes = len(class_names()) + 1 + bool(concepts)
    with torch.no_grad():
        feats = backbone(torch.zeros(1, 3, 64, 64))
    head = DenseHead([f.shape[1] for f in feats], num_classes)
    pre = cfg.model.data_preprocessor
    model = BackboneWithHead(backbone, head, pre['mean'], pre['std'])
    x, y = frame_examples(args.data_root, args.asset_root,
                          load_clips(args.data_root, 'train'))

    def loss(logits, target):
        return F.cross_entropy(logits, target)

    def augment(batch, gen):
        images, target = batch
        num = round(args.concept_share * len(images))
        if num:
            picked = torch.randint(len(concepts), (num, ),
                                   generator=gen).tolist()
            pasted = overlay_concepts(images[:num], target[:num],
                                      [concepts[i] for i in picked],
                                      num_classes - 1, gen)
            images = torch.cat([pasted[0], images[num:]])
            target = torch.cat([pasted[1], target[num:]])
        return augment_pairs(images, target, gen)

    train_loop(model, [torch.from_numpy(x), torch.from_numpy(y)], loss, args,
               augment=augment)
    report = dict(num_train_frames=len(x), num_concept_pictures=len(concepts))
    for split in ('test', 'test_real'):
        xs, ys = frame_examples(args.data_root, args.asset_root,
                                load_clips(args.data_root, split))
        pred = predict(model, torch.from_numpy(xs)).argmax(1).numpy()
        report[split] = segmentation_metrics(pred, ys, num_classes)
    save_state(backbone, args.out)
    return report


# ----------------------------------------------------------------- CLIP
def region_examples(data_root: str, asset_root: str, clips: List[dict],
                    captions: bool = True):
    """Masked-frame examples: every object alone (text: a phrase about
    it) and, with ``captions``, every frame's sounding objects (text: the
    caption).

    Returns:
        tuple: frames uint8 ``[M, H, W, 3]`` (one per clip), for each
        example its frame index, its visible mask (bool ``[N, H, W]``), its
        texts (a list of phrase variants) and its class index (-1 for
        caption examples).
    """
    from rassu_mm.datasets.semireal import (STYLE_WORDS, describe,
                                            object_map)
    classes = class_names()
    frames, owner, masks, texts, labels = [], [], [], [], []
    for i, clip in enumerate(tqdm(clips, desc='regions', leave=False)):
        img = cv2.imread(osp.join(data_root, clip['frames'][0]['image']))
        frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        size = img.shape[:2]
        index = object_map(clip, asset_root, size)
        for j, obj in enumerate(clip['objects']):
            if not (index == j).any():
                continue
            owner.append(i)
            masks.append(index == j)
            texts.append([
                p.format(
                    cls=obj['class'],
                    style=STYLE_WORDS[obj['style']],
                    desc=describe(obj, size)) for p in PHRASES
            ])
            labels.append(classes.index(obj['class']))
        if not captions:
            continue
        seen = set()
        for frame in clip['frames']:
            key = tuple(frame['sounding'])
            if not key or key in seen:
                continue
            seen.add(key)
            owner.append(i)
            masks.append(np.isin(index, key))
            texts.append([frame['caption']])
            labels.append(-1)
    return (np.stack(frames), np.array(owner), np.stack(masks), texts,
            np.array(labels))


def clip_pixels(frames: torch.Tensor, masks: torch.Tensor,
                image_size: int) -> torch.Tensor:
    """What MCM feeds CLIP: uint8 RGB ``[N, H, W, 3]`` in CLIP's
    normalisation, times the mask ``[N, H, W]``, resized to
    ``image_size``; ``[N, 3, S, S]``."""
    from rassu_mm.models.utils.clip_utils import CLIP_MEAN, CLIP_STD
    x = frames.permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        CLIP_STD).view(1, 3, 1, 1)
    x = x * masks[:, None].float()
    return F.interpolate(
        x, size=(image_size, image_size), mode='bilinear',
        align_corners=False)


def build_clip(tokenizer):
    from transformers import CLIPConfig, CLIPModel
    # the towers' own configs carry projection_dim too: MCM and the losses
    # load them alone (CLIPVisionModelWithProjection, CLIPTextModel...)
    dim = CLIP_SIZES['projection_dim']
    text = dict(
        CLIP_SIZES['text'],
        projection_dim=dim,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id)
    config = CLIPConfig(
        text_config=text,
        vision_config=dict(CLIP_SIZES['vision'], projection_dim=dim),
        projection_dim=dim)
    return CLIPModel(config)


def image_embeds(model, pixels: torch.Tensor) -> torch.Tensor:
    """``[N, D]``, as ``CLIPVisionModelWithProjection`` in MCM."""
    return model.visual_projection(
        model.vision_model(pixel_values=pixels).pooler_output)


def text_embeds(model, tokens) -> torch.Tensor:
    """``[N, D]``, as ``CLIPTextModelWithProjection`` in the losses."""
    return model.text_projection(model.text_model(**tokens).pooler_output)


def zero_shot(model, tokenizer, frames, owner, masks, labels) -> dict:
    """Top-1 of ``'a <class>'`` over the classes on single-object
    examples, each seen as MCM sees it (the masked frame) and as a crop
    (the masked frame zoomed onto the object's box); the crops' top-1
    per class too."""
    keep = labels >= 0
    prompts = tokenizer([f'a {c}' for c in class_names()],
                        padding=True, return_tensors='pt')
    model.eval()
    with torch.no_grad():
        text = F.normalize(text_embeds(model, prompts), dim=-1)
        preds = dict(frame=[], crop=[])
        for idx in np.array_split(np.flatnonzero(keep),
                                  max(1, keep.sum() // 256)):
            views = dict(frame=(torch.from_numpy(frames[owner[idx]]),
                                torch.from_numpy(masks[idx])))
            views['crop'] = box_crops(*views['frame'])
            for name, view in views.items():
                pixels = clip_pixels(*view,
                                     model.config.vision_config.image_size)
                image = F.normalize(image_embeds(model, pixels), dim=-1)
                preds[name].append((image @ text.T).argmax(1))
    crop = torch.cat(preds['crop']).numpy()
    names = class_names()
    return dict(
        zero_shot_top1=float((crop == labels[keep]).mean()),
        zero_shot_top1_per_class={
            names[c]: float((crop[labels[keep] == c] == c).mean())
            for c in np.unique(labels[keep])},
        zero_shot_top1_masked_frame=float(
            (torch.cat(preds['frame']).numpy() == labels[keep]).mean()),
        num_crops=int(keep.sum()))


def pretrain_clip(cfg: Config, args) -> dict:
    from rassu_mm.models.utils.tokenization import train_caption_tokenizer
    clips = load_clips(args.data_root, 'train')
    frames, owner, masks, texts, labels = region_examples(
        args.data_root, args.asset_root, clips)
    concepts, concept_texts = ([], [])
    if args.concept_share > 0:
        concepts, concept_texts = load_concepts(args.concepts)
    tokenizer = train_caption_tokenizer(
        [t for variants in texts for t in variants] + concept_texts,
        vocab_size=8000)
    model = build_clip(tokenizer)
    gen = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr,
                                  weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, args.lr, total_steps=args.iters, pct_start=0.1)
    image_size = model.config.vision_config.image_size
    num_concepts = round(args.concept_share * args.batch_size)
    model.train()
    bar = tqdm(range(args.iters), desc='clip')
    for _ in bar:
        idx = torch.randint(len(owner), (args.batch_size - num_concepts, ),
                            generator=gen).numpy()
        chosen = [
            texts[i][int(torch.randint(len(texts[i]), (1, ), generator=gen))]
            for i in idx.tolist()
        ]
        views = [frames[owner[idx]]], [masks[idx]]
        if num_concepts:
            picked = torch.randint(len(concepts), (num_concepts, ),
                                   generator=gen).tolist()
            pasted = paste_concepts([concepts[i] for i in picked],
                                    *frames.shape[1:3], gen)
            views[0].append(pasted[0])
            views[1].append(pasted[1])
            chosen += [concept_texts[i] for i in picked]
        batch = augment_pairs(
            torch.from_numpy(np.concatenate(views[0])),
            torch.from_numpy(np.concatenate(views[1])),
            gen,
            crop_prob=args.crop_prob)
        pixels = clip_pixels(*batch, image_size)
        tokens = tokenizer(chosen, padding=True, return_tensors='pt')
        image = F.normalize(image_embeds(model, pixels), dim=-1)
        text = F.normalize(text_embeds(model, tokens), dim=-1)
        logits = model.logit_scale.exp() * image @ text.T
        # identical texts are positives of each other
        same = torch.tensor([[a == b for b in chosen] for a in chosen],
                            dtype=torch.float32)
        target = same / same.sum(1, keepdim=True)
        loss = (torch.sum(-target * logits.log_softmax(1), 1).mean() +
                torch.sum(-target * logits.log_softmax(0).T, 1).mean()) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        sched.step()
        bar.set_postfix(loss=f'{loss.item():.3f}')
    report = dict(num_train_examples=len(owner),
                  num_concept_pictures=len(concepts),
                  train=zero_shot(model, tokenizer, frames, owner, masks,
                                  labels))
    for split in ('test', 'test_real'):
        ex = region_examples(args.data_root, args.asset_root,
                             load_clips(args.data_root, split),
                             captions=False)
        report[split] = zero_shot(model, tokenizer, ex[0], ex[1], ex[2],
                                  ex[4])
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    return report


# --------------------------------------------------------------- common
def train_loop(model: nn.Module, tensors: List[torch.Tensor], loss_fn,
               args, augment=None) -> None:
    """AdamW with a one-cycle schedule over random batches of
    ``tensors`` (inputs first, targets last)."""
    gen = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr,
                                  weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, args.lr, total_steps=args.iters, pct_start=0.1)
    model.train()
    bar = tqdm(range(args.iters), desc=args.encoder)
    for _ in bar:
        idx = torch.randint(len(tensors[0]), (args.batch_size, ),
                            generator=gen)
        batch = [t[idx] for t in tensors]
        if augment is not None:
            batch = augment(batch, gen)
        loss = loss_fn(model(batch[0]), batch[-1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        sched.step()
        bar.set_postfix(loss=f'{loss.item():.3f}')


def predict(model: nn.Module, inputs: torch.Tensor,
            batch_size: int = 256) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([
            model(inputs[i:i + batch_size])
            for i in range(0, len(inputs), batch_size)
        ])


def save_state(module: nn.Module, out: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=module.state_dict()), out)


PRETRAIN = dict(audio=pretrain_audio, backbone=pretrain_backbone,
                clip=pretrain_clip)
# the lengths of the stand-ins measured in docs/semireal.md, section 3,
# which tools/analysis_tools/ablation.py pretrains when they are missing
DEFAULTS: Dict[str, dict] = dict(
    audio=dict(iters=1500, batch_size=128, lr=3e-3),
    backbone=dict(iters=1200, batch_size=32, lr=3e-3),
    clip=dict(iters=1500, batch_size=128, lr=1e-3))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('encoder', choices=sorted(PRETRAIN))
    parser.add_argument('config', help='the sr-Music config whose encoder '
                        'sizes and pretrained paths are used')
    parser.add_argument('--data-root', default='data/sr_music')
    parser.add_argument('--asset-root', default='data/assets/semireal')
    parser.add_argument('--out', help='default: the path the config loads')
    parser.add_argument('--iters', type=int)
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--lr', type=float)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--crop-prob', type=float, default=0.5,
        help='clip: share of training views zoomed onto the object box')
    parser.add_argument(
        '--concepts', default='data/assets/concepts',
        help='clip, backbone: the concept picture tree (generic named '
        'icons, no instrument) mixed into every batch')
    parser.add_argument(
        '--concept-share', type=float, default=0.,
        help='clip: share of each batch drawn from --concepts; backbone: '
        'share of each batch with a concept pasted over the frame (default '
        '0: sr-Music only; docs/semireal.md section 3 has the measured '
        'shares)')
    args = parser.parse_args(argv)
    if not 0 <= args.concept_share < 1:
        parser.error(f'--concept-share must be in [0, 1), got '
                     f'{args.concept_share}')
    for key, value in DEFAULTS[args.encoder].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def config_path(cfg: Config, encoder: str) -> str:
    """Where the config loads the encoder's pretrained weights from."""
    model = cfg.model
    if encoder == 'audio':
        return model.audio_encoder.init_cfg.checkpoint
    if encoder == 'backbone':
        return model.backbone.init_cfg.checkpoint
    return model.mask_collaboration.pretrained


def main(argv=None) -> dict:
    import rassu_mm  # noqa: F401  (registers the models)
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    args.out = args.out or config_path(cfg, args.encoder)
    torch.manual_seed(args.seed)
    start = time.time()
    report = PRETRAIN[args.encoder](cfg, args)
    report.update(
        encoder=args.encoder,
        config=args.config,
        iters=args.iters,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        seconds=round(time.time() - start, 1))
    report_path = (osp.join(args.out, 'report.json')
                   if args.encoder == 'clip' else args.out + '.json')
    with open(report_path, 'w') as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    return report


if __name__ == '__main__':
    main()

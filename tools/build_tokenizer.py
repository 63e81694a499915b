"""Build a caption tokenizer from the captions of SSU annotation files.

Example::

    python tools/build_tokenizer.py data/f_music/annotations/train.json \
        work_dirs/tokenizers/f_music --model wordpiece --vocab-size 8000

The output folder loads with ``AutoTokenizer.from_pretrained(folder)`` and
is what ``MoHECaptionHead(tokenizer=...)`` expects.
"""
import argparse
import json
from typing import Iterator, Sequence

from rassu_mm.models.utils.tokenization import train_caption_tokenizer


def iter_captions(ann_files: Sequence[str]) -> Iterator[str]:
    """Yield every non-empty ``clips[].frames[].caption`` of the files."""
    for path in ann_files:
        with open(path, encoding='utf-8') as f:
            ann = json.load(f)
        for clip in ann['clips']:
            for frame in clip['frames']:
                if frame.get('caption'):
                    yield frame['caption']


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_files', nargs='+',
                        help='training annotation JSON file(s)')
    parser.add_argument('out_dir', help='folder to save the tokenizer in')
    parser.add_argument('--model', choices=['wordpiece', 'bpe'],
                        default='wordpiece')
    parser.add_argument('--vocab-size', type=int, default=8000)
    parser.add_argument('--min-frequency', type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    captions = list(iter_captions(args.ann_files))
    if not captions:
        raise SystemExit(f'No captions found in {args.ann_files}')
    tokenizer = train_caption_tokenizer(captions, args.model,
                                        args.vocab_size, args.min_frequency)
    tokenizer.save_pretrained(args.out_dir)
    print(f'Saved a {args.model} tokenizer with {len(tokenizer)} tokens '
          f'({len(captions)} captions) to {args.out_dir}')


if __name__ == '__main__':
    main()

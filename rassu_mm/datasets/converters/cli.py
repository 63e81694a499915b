"""Command-line options and error line shared by the export converters."""
import argparse
import sys
from typing import Callable

from ..errors import ClipDataError
from .sounding import SoundingRule


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options of every export converter (SSU sampling, audio, sounding
    objects, output)."""
    parser.add_argument('--split', default='train',
                        help='write annotations/<split>.json')
    parser.add_argument('--fps', type=float, default=1.0,
                        help='SSU frames per second')
    parser.add_argument(
        '--video-fps', type=float,
        help='frame rate of the export\'s frame numbers')
    parser.add_argument(
        '--frame-position', type=float, default=0.5,
        help='where in its 1/fps window SSU frame k is taken (0 = start)')
    parser.add_argument(
        '--audio-dir', required=True,
        help='folder of <video name>.wav (or any file PyAV decodes: '
        '.flac, .mp3, the original .mp4 ...)')
    parser.add_argument('--audio-rate', type=int, default=16000)
    parser.add_argument(
        '--sounding-label', action='append', default=[], metavar='LABEL',
        help='objects with this label sound (repeatable)')
    parser.add_argument(
        '--sounding-attribute', action='append', default=[],
        metavar='NAME=VALUE',
        help='objects whose attribute NAME is VALUE sound (repeatable)')
    parser.add_argument('--all-sounding', action='store_true',
                        help='every annotated object sounds')
    parser.add_argument('--dataset-name', default='custom',
                        help='metainfo dataset_name')
    parser.add_argument('--skip-bad', action='store_true',
                        help='skip bad clips with a warning')


def sounding_rule(parser: argparse.ArgumentParser,
                  args: argparse.Namespace) -> SoundingRule:
    """The :class:`SoundingRule` of the options (a usage error if none)."""
    try:
        return SoundingRule(args.sounding_label, args.sounding_attribute,
                            args.all_sounding)
    except ValueError as err:
        parser.error(str(err))


def run_cli(main: Callable[[], object]) -> None:
    """Run ``main``; a :class:`ClipDataError` ends it with one line."""
    try:
        main()
    except ClipDataError as err:
        sys.exit(f'error: {err.path}: clip {err.clip_id!r}: {err.reason}')

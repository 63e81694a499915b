"""Caption scores (BLEU-1..4, METEOR, ROUGE-L, CIDEr) through pycocoevalcap.

pycocoevalcap needs a Java runtime for its PTB tokenizer (Stanford CoreNLP)
and for METEOR. Without Java, captions are tokenised with
:func:`python_ptb_tokenize` and METEOR is left out; BLEU, ROUGE-L and CIDEr
are pure Python and always available. pycocoevalcap is imported when
captions are scored, not when the package is imported (it is large and not
needed to train or run a model).
"""
import contextlib
import functools
import io
import logging
import re
import shutil
import subprocess
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log

CAPTION_KEYS = ('BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'METEOR', 'ROUGE-L',
                'CIDEr')

# Clitics that the PTB tokenizer splits off a word ("don't" -> "do n't")
# and the words it splits in two ("cannot" -> "can not").
_CLITICS = re.compile(r"(?<=\w)(n't|'s|'re|'ve|'ll|'d|'m)\b")
_SPLIT_WORDS = re.compile(r"\b(can)(not)\b|\b(gon|wan)(na)\b|\b(got)(ta)\b")
_TOKEN = re.compile(
    r"n't|'(?:s|re|ve|ll|d|m)\b"  # clitics split off above
    r"|(?:[a-z]\.){2,}"  # abbreviations: u.s., e.g.
    r"|(?:mr|mrs|ms|dr|st|jr|sr|prof|vs|etc|inc|ltd|co)\.(?!\w)"
    r"|\w+(?:(?:[-/&.]|(?<=\d)[,:](?=\d))\w+)*"  # 3.5-year-old, 1,000
    r"|\.\.\.|--|\S")  # any other single character
# PTB escapes brackets; pycocoevalcap keeps the (lower-cased) escapes.
_BRACKETS = {
    '(': '-lrb-',
    ')': '-rrb-',
    '[': '-lsb-',
    ']': '-rsb-',
    '{': '-lcb-',
    '}': '-rcb-'
}
_METEOR = None  # see shared_meteor()


@functools.lru_cache()
def _dropped_tokens() -> frozenset:
    """The punctuation tokens pycocoevalcap drops after tokenising."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS
    return frozenset(PUNCTUATIONS) | {'"'}


@functools.lru_cache()
def java_available() -> bool:
    """Whether a working ``java`` executable is on ``PATH`` (cached)."""
    if shutil.which('java') is None:
        return False
    try:
        return subprocess.run(['java', '-version'],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def normalize_caption(text: str) -> str:
    """One line of text: whitespace runs become one space and ``|`` (the
    field separator of the METEOR protocol) becomes a space."""
    return ' '.join(text.replace('|', ' ').split())


def python_ptb_tokenize(text: str) -> str:
    """Pure-Python stand-in for pycocoevalcap's Java ``PTBTokenizer``.

    Lower-cases, splits off punctuation and the clitics ``n't 's 're 've
    'll 'd 'm`` like the Penn Treebank tokenizer and drops the punctuation
    tokens that pycocoevalcap drops; brackets become PTB escapes
    (``-lrb-``), which pycocoevalcap keeps. It equals the Java tokenizer on
    plain captions (words, hyphenated words, numbers, punctuation, quotes,
    brackets, clitics, common abbreviations); rare constructs (URLs,
    ``@handles``, ``rock'n'roll``, unusual abbreviations) may be split
    differently.

    Args:
        text (str): One caption.

    Returns:
        str: Space-separated tokens.
    """
    text = _CLITICS.sub(r' \1', text.lower())
    text = _SPLIT_WORDS.sub(lambda m: ' '.join(g for g in m.groups() if g),
                            text)
    tokens = (_BRACKETS.get(t, t) for t in _TOKEN.findall(text))
    dropped = _dropped_tokens()
    return ' '.join(t for t in tokens if t not in dropped)


def tokenize_captions(captions: Sequence[str], use_java: bool) -> List[str]:
    """Tokenise captions, one output string per input string.

    Args:
        captions (Sequence[str]): Raw captions.
        use_java (bool): Use pycocoevalcap's Java ``PTBTokenizer``; else
            :func:`python_ptb_tokenize`.

    Returns:
        list[str]: Space-separated tokens; blank captions give ``''`` (the
        Java tokenizer would drop a trailing blank line and misalign its
        output).
    """
    captions = [normalize_caption(c) for c in captions]
    if not use_java:
        return [python_ptb_tokenize(c) for c in captions]
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    todo = {i: [dict(caption=c)] for i, c in enumerate(captions) if c}
    done = PTBTokenizer().tokenize(todo) if todo else {}
    return [done[i][0] if i in done else '' for i in range(len(captions))]


def shared_meteor():
    """The process-wide METEOR scorer.

    Its Java process loads paraphrase tables on the first call (about 20 s,
    1.3 GB resident), so it is started once and reused by every evaluation
    until the Python process exits.
    """
    from pycocoevalcap.meteor.meteor import Meteor
    global _METEOR
    if _METEOR is None:
        _METEOR = Meteor()
    return _METEOR


def _meteor_score(gts: dict, res: dict) -> Optional[float]:
    """METEOR of tokenised captions, None (with a warning) if the Java
    process fails; a failed process is discarded."""
    global _METEOR
    try:
        return float(shared_meteor().compute_score(gts, res)[0])
    except (OSError, ValueError) as err:
        _METEOR = None
        print_log(
            f'METEOR failed ({err!r}) and is left out.',
            logger='current',
            level=logging.WARNING)
        return None


def score_captions(preds: Sequence[str], refs: Sequence[str],
                   use_java: bool) -> Dict[str, float]:
    """Corpus-level scores of tokenised captions, one reference each.

    Args:
        preds (Sequence[str]): ``N`` tokenised predictions.
        refs (Sequence[str]): ``N`` tokenised references.
        use_java (bool): Compute METEOR (needs Java).

    Returns:
        dict: ``BLEU-1``..``BLEU-4``, ``METEOR`` (with Java), ``ROUGE-L``
        and ``CIDEr``.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    assert len(preds) == len(refs) > 0
    res = {i: [p] for i, p in enumerate(preds)}
    gts = {i: [r] for i, r in enumerate(refs)}
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints
        bleu, _ = Bleu(4).compute_score(gts, res)
    scores = {f'BLEU-{n + 1}': float(b) for n, b in enumerate(bleu)}
    if use_java:
        scores['METEOR'] = _meteor_score(gts, res)
    scores['ROUGE-L'] = float(Rouge().compute_score(gts, res)[0])
    scores['CIDEr'] = float(Cider().compute_score(gts, res)[0])
    return {k: scores[k] for k in CAPTION_KEYS if scores.get(k) is not None}

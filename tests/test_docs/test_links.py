"""README, docs/ and configs/ markdown stand alone: every relative link
resolves to a file inside the repository."""
import glob
import os.path as osp
import re

import pytest

from rassu_mm.testing import REPO_ROOT

# [text](target) / ![alt](target), and reference definitions "[x]: target"
INLINE = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE = re.compile(r'^\s*\[[^\]]+\]:\s*(\S+)', re.M)
HREF = re.compile(r'(?:href|src)="([^"]+)"')
FENCE = re.compile(r'^(```|~~~).*?^\1', re.M | re.S)


def markdown_files():
    files = [osp.join(REPO_ROOT, 'README.md')]
    files += glob.glob(
        osp.join(REPO_ROOT, 'docs', '**', '*.md'), recursive=True)
    files += glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.md'), recursive=True)
    return sorted(f for f in files if osp.isfile(f))


def links(text):
    """Link targets outside fenced code blocks and inline code."""
    text = FENCE.sub('', text)
    text = re.sub(r'`[^`\n]*`', '', text)
    return [m for pattern in (INLINE, REFERENCE, HREF)
            for m in pattern.findall(text)]


def test_links_helper_finds_all_kinds():
    text = ('see [a](docs/a.md) and ![b](../b.png "t")\n[c]: ../c.md\n'
            '<img src="d.png">\n```\n[e](../x.md)\n```\n`[f](../y.md)`\n')
    assert sorted(links(text)) == ['../b.png', '../c.md', 'd.png',
                                   'docs/a.md']


@pytest.mark.parametrize(
    'path', markdown_files(), ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_relative_links_stay_in_repository(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    assert '../shared' not in text, f'{path} refers to ../shared'
    bad = []
    for target in links(text):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I) or \
                target.startswith('#'):
            continue  # URL (https:, mailto:) or an anchor in this page
        file_part = target.split('#', 1)[0]
        resolved = osp.normpath(osp.join(osp.dirname(path), file_part))
        if osp.isabs(file_part) or \
                osp.commonpath([resolved, REPO_ROOT]) != REPO_ROOT or \
                not osp.exists(resolved):
            bad.append(target)
    assert not bad, f'{osp.relpath(path, REPO_ROOT)}: links that do not ' \
        f'resolve inside the repository: {bad}'

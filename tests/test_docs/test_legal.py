"""LICENSE matches setup.cfg, NOTICE names files that exist, the README
carries the citation."""
import configparser
import os.path as osp
import re

from rassu_mm.testing import repo_path


def read(*parts):
    with open(repo_path(*parts), encoding='utf-8') as f:
        return f.read()


def test_license_matches_setup_cfg():
    setup = configparser.ConfigParser()
    setup.read(repo_path('setup.cfg'))
    assert setup['metadata']['license'] == 'Apache-2.0'
    assert setup['metadata']['license_files'].split() == ['LICENSE', 'NOTICE']
    text = read('LICENSE')
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    assert 'END OF TERMS AND CONDITIONS' in text  # the full text


def test_notice_names_existing_files():
    paths = re.findall(r'\b((?:tools|rassu_mm|configs)/[\w./*-]+)',
                       read('NOTICE'))
    assert len(paths) > 10
    for path in paths:
        path = path.rstrip('.,')
        if '*' in path:
            path = osp.dirname(path)
        assert osp.exists(repo_path(path)), path


def test_readme_cites_the_paper():
    readme = read('README.md')
    assert '## Citation' in readme
    bibtex = readme.split('## Citation', 1)[1]
    for field in ('title         = {RA-SSU: Towards Fine-Grained',
                  'journal       = {IEEE Transactions on Multimedia}',
                  'eprint        = {2603.09809}'):
        assert field in bibtex

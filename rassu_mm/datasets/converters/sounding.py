"""Which annotated objects are sounding, from the user's rule."""
from typing import Dict, Iterable, Optional, Sequence


def _norm(value) -> str:
    # JSON booleans read as 'true'/'false', like CVAT's checkbox values
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value).strip().lower()


class SoundingRule:
    """An object sounds if its label is one of ``labels``, or one of its
    attributes has the value ``attributes`` gives for that name (values
    compared case-insensitively), or ``all_sounding`` is set.

    Args:
        labels (Sequence[str]): sounding labels.
        attributes (Sequence[str]): ``'NAME=VALUE'`` strings.
        all_sounding (bool): every annotated object sounds.
    """

    def __init__(self,
                 labels: Sequence[str] = (),
                 attributes: Sequence[str] = (),
                 all_sounding: bool = False) -> None:
        self.labels = set(labels)
        self.attributes: Dict[str, str] = {}
        for item in attributes:
            name, sep, value = item.partition('=')
            if not sep or not name:
                raise ValueError(
                    f'--sounding-attribute must be NAME=VALUE, got {item!r}')
            self.attributes[name] = _norm(value)
        self.all_sounding = all_sounding
        if not (self.labels or self.attributes or all_sounding):
            raise ValueError('name the sounding objects: --sounding-label, '
                             '--sounding-attribute or --all-sounding')

    def unknown_labels(self, known: Iterable[str]) -> list:
        """Sounding labels that are not among ``known`` (typos)."""
        return sorted(self.labels - set(known))

    def __call__(self, label: str, attributes: Optional[dict]) -> bool:
        if self.all_sounding or label in self.labels:
            return True
        attributes = attributes or {}
        return any(name in attributes and _norm(attributes[name]) == value
                   for name, value in self.attributes.items())

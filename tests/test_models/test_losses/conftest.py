import pytest
import torch
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from rassu_mm.models.utils.tokenization import CaptionTokenizer
from rassu_mm.testing import tiny_clip_text, write_caption_tokenizer

CAPTIONS = [
    'The woman on the left is playing a flute.',
    'The man on the right is playing the cello.',
    'The red triangle is sounding.',
]


@pytest.fixture(scope='package')
def clip_folder(tmp_path_factory):
    """A tiny CLIP text tower saved with its (caption) tokenizer, and its
    ``CLIPTextConfig`` arguments."""
    folder = write_caption_tokenizer(
        tmp_path_factory.mktemp('clip_text'), CAPTIONS, vocab_size=200)
    tiny = tiny_clip_text(CaptionTokenizer(folder).vocab_size)
    torch.manual_seed(0)
    CLIPTextModelWithProjection(CLIPTextConfig(**tiny)).save_pretrained(
        folder)
    return str(folder), tiny


@pytest.fixture(scope='package')
def text_embeds(clip_folder):
    """``text_embeds(captions)``: the folder's CLIP text embeddings,
    computed directly with ``transformers``."""
    folder, _ = clip_folder
    model = CLIPTextModelWithProjection.from_pretrained(folder).eval()
    tok = CaptionTokenizer(folder).tokenizer

    def embed(captions):
        inputs = tok(list(captions), padding=True, return_tensors='pt')
        with torch.no_grad():
            return model(**inputs).text_embeds

    return embed

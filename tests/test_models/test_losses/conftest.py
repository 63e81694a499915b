import pytest
import torch
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from rassu_mm.models.tokenization import (CaptionTokenizer,
                                          train_caption_tokenizer)

CAPTIONS = [
    'The woman on the left is playing a flute.',
    'The man on the right is playing the cello.',
    'The red triangle is sounding.',
]


@pytest.fixture(scope='package')
def clip_folder(tmp_path_factory):
    """A tiny CLIP text tower saved with its (caption) tokenizer, and its
    ``CLIPTextConfig`` arguments."""
    folder = tmp_path_factory.mktemp('clip_text')
    tokenizer = train_caption_tokenizer(CAPTIONS, vocab_size=200)
    tokenizer.save_pretrained(folder)
    tiny = dict(vocab_size=len(tokenizer), hidden_size=32,
                intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=32,
                projection_dim=16, pad_token_id=0, bos_token_id=2,
                eos_token_id=3)
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

"""mae_ref.py: the PyTorch reference of MAE ViT-T that maec's parity tests compare against.

A transcription of IcarusWizard/MAE (model.py) with timm 0.4.12's Block, Attention and Mlp, in
plain PyTorch (no timm, no einops), as described by ../../../shared/reference/mae-recipe.md.
The state_dict names and layouts are the seed's:

  MAE_ViT:        encoder.cls_token (1,1,C), encoder.pos_embedding (T,1,C),
                  encoder.patchify.{weight (C,ch,p,p), bias}, encoder.transformer.N.*,
                  encoder.layer_norm.*, decoder.mask_token (1,1,C), decoder.pos_embedding (T+1,1,C),
                  decoder.transformer.N.*, decoder.head (C -> ch*p*p)
  ViT_Classifier: cls_token, pos_embedding, patchify.*, transformer.N.*, layer_norm.*, head (C -> classes)
  a Block:        norm1.{weight,bias}, attn.qkv.weight (3C,C; no bias), attn.proj.{weight,bias},
                  norm2.{weight,bias}, mlp.fc1.{weight,bias} (4C,C), mlp.fc2.{weight,bias} (C,4C)

Two departures from the seed, both asked for by the recipe:
  - The permutation is an input: PatchShuffle's numpy shuffle is replaced by `forward_indexes`,
    an int64 (T, B) tensor whose column b is the permutation of image b (the seed's layout);
    backward_indexes = argsort(forward_indexes, dim=0); the first int(T * (1 - mask_ratio)) stay.
    random_forward_indexes() draws one the way the seed does (uniform, independent per image).
  - The decoder's mask uses the corrected rule: 1 on every removed patch. The seed writes
    mask[T:] = 1 with T counting the cls token, which leaves one removed patch per image unmasked.

Tokens keep the seed's (t b c) layout between stages, with its take_indexes gather; the Blocks
run on (b t c), as in the seed. Sizes are parameters, so a small configuration works too
(CONFIGS has the recipe's "full" one and a "small" one for fast tests).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

# The model configuration keys, as in models/mae.dsl and the dumps' metadata.
CONFIG_KEYS = ("image", "patch", "channels", "dim", "enc_depth", "dec_depth", "heads", "mask_ratio", "classes")
CONFIGS = {
    "full": dict(image=32, patch=2, channels=3, dim=192, enc_depth=12, dec_depth=4, heads=3, mask_ratio=0.75,
                 classes=10),
    # 16 tokens (4 kept), 3 heads of 8: every code path of the full model, in milliseconds.
    "small": dict(image=8, patch=2, channels=3, dim=24, enc_depth=2, dec_depth=1, heads=3, mask_ratio=0.75,
                  classes=10),
}

# The recipes' optimiser settings (models/mae.dsl; the learning rates before the schedule).
RECIPES = {
    "pretrain": dict(lr=1.5e-4 * 4096 / 256, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05, train="all"),
    "finetune": dict(lr=1e-3 * 128 / 256, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05, train="all"),
    "linprobe": dict(lr=1e-3 * 128 / 256, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05, train="head"),
}


def parse_config_value(key, text):
    """A configuration value from its string form (metadata, --set)."""
    if key not in CONFIG_KEYS:
        raise ValueError("unknown model configuration key %r (known: %s)" % (key, ", ".join(CONFIG_KEYS)))
    return float(text) if key == "mask_ratio" else int(text)


# ---------------------------------------------------------------- the seed's helpers

def take_indexes(sequences, indexes):
    """sequences (t, b, c), indexes (t', b) -> (t', b, c): out[i, b] = sequences[indexes[i, b], b]."""
    return torch.gather(sequences, 0, indexes.unsqueeze(-1).expand(-1, -1, sequences.shape[-1]))


def random_forward_indexes(tokens, batch, generator=None):
    """(tokens, batch) int64: an independent uniform permutation of the tokens for each image."""
    return torch.stack([torch.randperm(tokens, generator=generator) for _ in range(batch)], dim=-1)


def img2tokens(patches):
    """Rearrange('b c h w -> (h w) b c')."""
    return patches.flatten(2).permute(2, 0, 1)


def patch2img(x, channels, patch, image):
    """Rearrange('(h w) b (c p1 p2) -> b c (h p1) (w p2)', p1=patch, p2=patch, h=image//patch)."""
    g = image // patch
    b = x.shape[1]
    return x.reshape(g, g, b, channels, patch, patch).permute(2, 3, 0, 4, 1, 5).reshape(b, channels, image, image)


# ---------------------------------------------------------------- timm 0.4.12 Block (defaults of Block(dim, heads))

class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()  # exact (erf)
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """timm 0.4.12 Block(dim, num_heads): mlp_ratio 4, qkv_bias False, no dropout or drop-path,
    nn.LayerNorm (eps 1e-5)."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads=num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


# ---------------------------------------------------------------- MAE (IcarusWizard/MAE model.py)

class MAE_Encoder(nn.Module):
    def __init__(self, image_size=32, patch_size=2, emb_dim=192, num_layer=12, num_head=3, mask_ratio=0.75,
                 channels=3):
        super().__init__()
        self.mask_ratio = mask_ratio
        self.cls_token = nn.Parameter(torch.zeros(1, 1, emb_dim))
        self.pos_embedding = nn.Parameter(torch.zeros((image_size // patch_size) ** 2, 1, emb_dim))
        self.patchify = nn.Conv2d(channels, emb_dim, patch_size, patch_size)
        self.transformer = nn.Sequential(*[Block(emb_dim, num_head) for _ in range(num_layer)])
        self.layer_norm = nn.LayerNorm(emb_dim)
        self.init_weight()

    def init_weight(self):
        nn.init.trunc_normal_(self.cls_token, std=0.02)  # timm's trunc_normal_: cut at +-2 absolute
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)

    def forward(self, img, forward_indexes):
        """img (B, ch, H, W), forward_indexes int64 (T, B) -> features (keep + 1, B, C) and
        backward_indexes (T, B)."""
        patches = img2tokens(self.patchify(img))
        patches = patches + self.pos_embedding

        # PatchShuffle with the permutation given
        T = patches.shape[0]
        remain_T = int(T * (1 - self.mask_ratio))
        backward_indexes = torch.argsort(forward_indexes, dim=0)
        patches = take_indexes(patches, forward_indexes)
        patches = patches[:remain_T]

        patches = torch.cat([self.cls_token.expand(-1, patches.shape[1], -1), patches], dim=0)
        patches = patches.transpose(0, 1)  # 't b c -> b t c'
        features = self.layer_norm(self.transformer(patches))
        features = features.transpose(0, 1)  # 'b t c -> t b c'
        return features, backward_indexes


class MAE_Decoder(nn.Module):
    def __init__(self, image_size=32, patch_size=2, emb_dim=192, num_layer=4, num_head=3, channels=3):
        super().__init__()
        self.image_size, self.patch_size, self.channels = image_size, patch_size, channels
        self.mask_token = nn.Parameter(torch.zeros(1, 1, emb_dim))
        self.pos_embedding = nn.Parameter(torch.zeros((image_size // patch_size) ** 2 + 1, 1, emb_dim))
        self.transformer = nn.Sequential(*[Block(emb_dim, num_head) for _ in range(num_layer)])
        self.head = nn.Linear(emb_dim, channels * patch_size ** 2)
        self.init_weight()

    def init_weight(self):
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)

    def forward(self, features, backward_indexes):
        T = features.shape[0]  # kept tokens + cls
        backward_indexes = torch.cat(
            [torch.zeros(1, backward_indexes.shape[1]).to(backward_indexes), backward_indexes + 1], dim=0)
        features = torch.cat(
            [features, self.mask_token.expand(backward_indexes.shape[0] - features.shape[0], features.shape[1], -1)],
            dim=0)
        features = take_indexes(features, backward_indexes)
        features = features + self.pos_embedding

        features = features.transpose(0, 1)  # 't b c -> b t c'
        features = self.transformer(features)
        features = features.transpose(0, 1)  # 'b t c -> t b c'
        features = features[1:]  # remove the cls token

        patches = self.head(features)
        mask = torch.zeros_like(patches)
        mask[T - 1:] = 1  # the corrected rule: every removed patch (the seed has mask[T:] = 1)
        mask = take_indexes(mask, backward_indexes[1:] - 1)
        img = patch2img(patches, self.channels, self.patch_size, self.image_size)
        mask = patch2img(mask, self.channels, self.patch_size, self.image_size)
        return img, mask


class MAE_ViT(nn.Module):
    def __init__(self, image_size=32, patch_size=2, emb_dim=192, encoder_layer=12, encoder_head=3, decoder_layer=4,
                 decoder_head=3, mask_ratio=0.75, channels=3):
        super().__init__()
        self.mask_ratio = mask_ratio
        self.encoder = MAE_Encoder(image_size, patch_size, emb_dim, encoder_layer, encoder_head, mask_ratio, channels)
        self.decoder = MAE_Decoder(image_size, patch_size, emb_dim, decoder_layer, decoder_head, channels)

    def forward(self, img, forward_indexes):
        features, backward_indexes = self.encoder(img, forward_indexes)
        predicted_img, mask = self.decoder(features, backward_indexes)
        return predicted_img, mask


class ViT_Classifier(nn.Module):
    """Shares the encoder's modules (the same Parameter objects), under its own state_dict names."""

    def __init__(self, encoder, num_classes=10):
        super().__init__()
        self.cls_token = encoder.cls_token
        self.pos_embedding = encoder.pos_embedding
        self.patchify = encoder.patchify
        self.transformer = encoder.transformer
        self.layer_norm = encoder.layer_norm
        self.head = nn.Linear(self.pos_embedding.shape[-1], num_classes)

    def forward(self, img):
        patches = img2tokens(self.patchify(img))
        patches = patches + self.pos_embedding
        patches = torch.cat([self.cls_token.expand(-1, patches.shape[1], -1), patches], dim=0)
        patches = patches.transpose(0, 1)  # 't b c -> b t c'
        features = self.layer_norm(self.transformer(patches))
        features = features.transpose(0, 1)  # 'b t c -> t b c'
        return self.head(features[0])


# ---------------------------------------------------------------- builders, losses, schedule

def build_mae(cfg):
    return MAE_ViT(image_size=cfg["image"], patch_size=cfg["patch"], emb_dim=cfg["dim"], encoder_layer=cfg["enc_depth"],
                   encoder_head=cfg["heads"], decoder_layer=cfg["dec_depth"], decoder_head=cfg["heads"],
                   mask_ratio=cfg["mask_ratio"], channels=cfg["channels"])


def build_classifier(cfg, mae=None):
    """The classifier on mae's encoder (a fresh MAE when None), as the seed's train_classifier.py."""
    return ViT_Classifier((mae or build_mae(cfg)).encoder, num_classes=cfg["classes"])


def build(recipe, cfg):
    return build_mae(cfg) if recipe == "pretrain" else build_classifier(cfg)


def mae_loss(model, img, forward_indexes):
    predicted_img, mask = model(img, forward_indexes)
    return torch.mean((predicted_img - img) ** 2 * mask) / model.mask_ratio


def classifier_loss(model, img, labels):
    """(loss, logits): plain cross-entropy on integer labels."""
    logits = model(img)
    return F.cross_entropy(logits, labels.long()), logits


def lr_multiplier(epoch, warmup, total):
    """The seed's LambdaLR, updated once per epoch (0-based)."""
    return min((epoch + 1) / (warmup + 1e-8), 0.5 * (math.cos(epoch / total * math.pi) + 1))


def adamw(params, lr, betas, eps, weight_decay):
    """torch.optim.AdamW, with the single-tensor implementation where the foreach argument exists
    (so the arithmetic order does not depend on the torch build)."""
    kw = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    try:
        return torch.optim.AdamW(params, foreach=False, **kw)
    except TypeError:  # a torch without the argument
        return torch.optim.AdamW(params, **kw)

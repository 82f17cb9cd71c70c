"""official_ref.py: the PyTorch reference of models/mae-official.dsl, the official MAE design.

A plain-PyTorch transcription of facebookresearch/mae's MaskedAutoencoderViT (models_mae.py) with
timm's Block(qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6)) and PatchEmbed (a Conv2d
with kernel = stride = patch), at the sizes of the DSL file (ViT-T on CIFAR-10: image 32, patch 2,
dim 192, depth 12, heads 3; decoder 128 wide, 4 deep, 4 heads). The state_dict is that of
MaskedAutoencoderViT, in its order (the module's own parameters first, then the submodules'):

  cls_token (1,1,D), pos_embed (1,T+1,D) [frozen], mask_token (1,1,Dd),
  decoder_pos_embed (1,T+1,Dd) [frozen], patch_embed.proj.{weight (D,ch,p,p), bias},
  blocks.N.* (N < depth), norm.*, decoder_embed.{weight (Dd,D), bias},
  decoder_blocks.N.* (N < dec_depth), decoder_norm.*, decoder_pred.{weight (ch*p*p,Dd), bias}
  a Block: norm1.*, attn.qkv.{weight (3C,C), bias (3C)}, attn.proj.*, norm2.*, mlp.fc1.* (4C,C),
           mlp.fc2.* (C,4C)

(load_state_dict does not depend on the order, and neither does the dump.)

The two position embeddings are the fixed 2-D sin-cos tables (row 0, the cls slot, is zero); they
are Parameters with requires_grad False, as in the official code, so they get no gradient and are
left out of AdamW. The one departure from models_mae.py: random_masking's permutation is an input.
`forward_indexes` is int64 (T, B) (the dump's layout, as in mae_ref.py), column b is image b's
ids_shuffle; ids_restore = argsort(ids_shuffle); the first keep = int(T * (1 - mask_ratio)) are
kept; mask is 1 on the removed patches. The loss is forward_loss with norm_pix_loss=True: the
target patchified in (p, q, c) order ('nchpwq->nhwpqc'), normalised by its mean and unbiased
variance (+1e-6 under the square root), the squared error averaged per patch, then over the
removed patches: sum(mean((pred - target)^2, -1) * mask) / sum(mask).
"""
import math

import torch
from torch import nn

NAME = "official"
# The model configuration keys: models/mae-official.dsl's top-level constants (the dumps'
# metadata), except the derived ones (grid, tokens, patch_values), which are only checked.
# `eps` is the LayerNorm eps.
CONFIG_KEYS = ("image", "patch", "channels", "dim", "depth", "heads", "dec_dim", "dec_depth", "dec_heads",
               "mask_ratio", "eps")
DERIVED_KEYS = ("grid", "tokens", "patch_values")
CONFIGS = {
    "full": dict(image=32, patch=2, channels=3, dim=192, depth=12, heads=3, dec_dim=128, dec_depth=4, dec_heads=4,
                 mask_ratio=0.75, eps=1e-6),
    # 16 tokens (4 kept); 3 heads of 8 in the encoder, 2 of 8 in the decoder.
    "small": dict(image=8, patch=2, channels=3, dim=24, depth=2, heads=3, dec_dim=16, dec_depth=1, dec_heads=2,
                  mask_ratio=0.75, eps=1e-6),
}
# The recipe's optimiser settings (models/mae-official.dsl; the learning rate before the schedule).
# eps is AdamW's: the recipe does not set it, so maec's default, 1e-8.
RECIPES = {
    "pretrain": dict(lr=1.5e-4 * 4096 / 256, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05, train="all"),
}
FLOAT_KEYS = ("mask_ratio", "eps")


def parse_config_value(key, text):
    """A configuration value from its string form (metadata, --set)."""
    if key not in CONFIG_KEYS + DERIVED_KEYS:
        raise ValueError("unknown model configuration key %r (known: %s)" % (key, ", ".join(CONFIG_KEYS)))
    return float(text) if key in FLOAT_KEYS else int(text)


def derived(cfg):
    """The DSL's derived constants from the others."""
    grid = cfg["image"] // cfg["patch"]
    return dict(grid=grid, tokens=grid * grid, patch_values=cfg["patch"] ** 2 * cfg["channels"])


# ---------------------------------------------------------------- fixed position embeddings

def sincos_1d(dim, pos):
    """get_1d_sincos_pos_embed_from_grid (float64): (M,) -> (M, dim), [sin | cos]."""
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = pos.reshape(-1).double()[:, None] * omega[None, :]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_2d(dim, grid, cls_token=True):
    """get_2d_sincos_pos_embed(dim, grid, cls_token) as a float32 (1, grid*grid (+1), dim) tensor.
    np.meshgrid(grid_w, grid_h) puts the column index in grid[0]: for token t = i*grid + j the
    first dim/2 values encode the column j, the last dim/2 the row i; the cls row is zero."""
    i = torch.arange(grid, dtype=torch.float64).repeat_interleave(grid)  # row of token t
    j = torch.arange(grid, dtype=torch.float64).repeat(grid)  # column of token t
    emb = torch.cat([sincos_1d(dim // 2, j), sincos_1d(dim // 2, i)], dim=1)
    if cls_token:
        emb = torch.cat([torch.zeros(1, dim, dtype=torch.float64), emb], dim=0)
    return emb.float().unsqueeze(0)


# ---------------------------------------------------------------- timm Block (qkv_bias, LayerNorm eps)

class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
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
    """timm Block(dim, num_heads, mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps)):
    no dropout or drop-path."""

    def __init__(self, dim, num_heads, eps, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """timm PatchEmbed: Conv2d(kernel = stride = patch), then flatten(2).transpose(1, 2)."""

    def __init__(self, patch, channels, dim):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


# ---------------------------------------------------------------- MaskedAutoencoderViT

class MaskedAutoencoderViT(nn.Module):
    def __init__(self, image=32, patch=2, channels=3, dim=192, depth=12, heads=3, dec_dim=128, dec_depth=4,
                 dec_heads=4, mask_ratio=0.75, eps=1e-6, mlp_ratio=4.0):
        super().__init__()
        self.patch, self.channels, self.mask_ratio = patch, channels, mask_ratio
        self.grid = image // patch
        T = self.grid ** 2
        # encoder
        self.patch_embed = PatchEmbed(patch, channels, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, T + 1, dim), requires_grad=False)  # fixed sin-cos
        self.blocks = nn.ModuleList([Block(dim, heads, eps, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        # decoder
        self.decoder_embed = nn.Linear(dim, dec_dim, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dec_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, T + 1, dec_dim), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([Block(dec_dim, dec_heads, eps, mlp_ratio) for _ in range(dec_depth)])
        self.decoder_norm = nn.LayerNorm(dec_dim, eps=eps)
        self.decoder_pred = nn.Linear(dec_dim, patch ** 2 * channels, bias=True)
        self.initialize_weights()

    def initialize_weights(self):
        """models_mae.py's: sin-cos tables, xavier_uniform patch_embed (as a Linear on the flattened
        kernel) and Linear weights, zero Linear biases, normal(0.02) tokens, LayerNorm 1 and 0."""
        with torch.no_grad():
            self.pos_embed.copy_(sincos_2d(self.pos_embed.shape[-1], self.grid))
            self.decoder_pos_embed.copy_(sincos_2d(self.decoder_pos_embed.shape[-1], self.grid))
        w = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def patchify(self, imgs):
        """(N, ch, H, W) -> (N, T, p*p*ch), each patch in (p, q, c) order."""
        p, h = self.patch, self.grid
        x = imgs.reshape(imgs.shape[0], self.channels, h, p, h, p)
        x = torch.einsum("nchpwq->nhwpqc", x)
        return x.reshape(imgs.shape[0], h * h, p * p * self.channels)

    def masking(self, x, forward_indexes):
        """random_masking with the permutation given: forward_indexes (T, B) -> x_masked, mask (1 on
        removed patches, in the original order), ids_restore."""
        N, L, D = x.shape
        len_keep = int(L * (1 - self.mask_ratio))
        ids_shuffle = forward_indexes.t().long()  # (B, T): row b is image b's permutation
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :len_keep]
        x_masked = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones([N, L], device=x.device, dtype=x.dtype)
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, dim=1, index=ids_restore)
        return x_masked, mask, ids_restore

    def forward_encoder(self, imgs, forward_indexes):
        x = self.patch_embed(imgs)
        x = x + self.pos_embed[:, 1:, :]
        x, mask, ids_restore = self.masking(x, forward_indexes)
        cls_token = self.cls_token + self.pos_embed[:, :1, :]
        cls_tokens = cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x), mask, ids_restore

    def forward_decoder(self, x, ids_restore):
        x = self.decoder_embed(x)
        mask_tokens = self.mask_token.repeat(x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)  # no cls token
        x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))  # unshuffle
        x = torch.cat([x[:, :1, :], x_], dim=1)  # append cls token
        x = x + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        x = self.decoder_norm(x)
        x = self.decoder_pred(x)
        return x[:, 1:, :]  # remove the cls token

    def forward_loss(self, imgs, pred, mask):
        """norm_pix_loss=True."""
        target = self.patchify(imgs)
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)  # unbiased
        target = (target - mean) / (var + 1.e-6) ** .5
        loss = (pred - target) ** 2
        loss = loss.mean(dim=-1)  # mean loss per patch
        return (loss * mask).sum() / mask.sum()  # mean loss on removed patches

    def forward(self, imgs, forward_indexes):
        latent, mask, ids_restore = self.forward_encoder(imgs, forward_indexes)
        pred = self.forward_decoder(latent, ids_restore)
        loss = self.forward_loss(imgs, pred, mask)
        return loss, pred, mask


# ---------------------------------------------------------------- the interface parity.py uses

def build(recipe, cfg):
    if recipe != "pretrain":
        raise ValueError("models/mae-official.dsl has only the pretrain recipe, not %r" % recipe)
    return MaskedAutoencoderViT(**{k: cfg[k] for k in CONFIG_KEYS})


def mae_loss(model, img, forward_indexes):
    loss, _, _ = model(img, forward_indexes)
    return loss


def classifier_loss(model, img, labels):
    raise ValueError("models/mae-official.dsl has no classifier")


def frozen_names(model):
    """The parameters that never train (the sin-cos tables)."""
    return [n for n, p in model.named_parameters() if not p.requires_grad]


def lr_multiplier(epoch, warmup, total):
    """The per-epoch warm-up + cosine rule (the same as mae_ref's), for make_dump.py's synthetic schedules."""
    return min((epoch + 1) / (warmup + 1e-8), 0.5 * (math.cos(epoch / total * math.pi) + 1))


def random_forward_indexes(tokens, batch, generator=None):
    """(tokens, batch) int64: an independent uniform permutation of the tokens for each image."""
    return torch.stack([torch.randperm(tokens, generator=generator) for _ in range(batch)], dim=-1)

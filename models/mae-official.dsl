# MAE with the options of the official design (facebookresearch/mae, models_mae.py), at
# ViT-T size on CIFAR-10: fixed 2-D sin-cos positions, a decoder_embed projection to a
# narrower decoder, a final decoder norm, qkv with bias, LayerNorm eps 1e-6, xavier-uniform
# Linear weights with zero bias, and the normalised-pixel loss. One flat block, so the
# parameter names are those of MaskedAutoencoderViT's state_dict.

image      = 32
patch      = 2
channels   = 3
dim        = 192
depth      = 12
heads      = 3
dec_dim    = 128
dec_depth  = 4
dec_heads  = 4
mask_ratio = 0.75
eps        = 1e-6
grid       = image / patch
tokens     = grid * grid
patch_values = patch * patch * channels

block Linear(n_in, n_out, with_bias = true) {
  param weight: [n_out, n_in] = xavier_uniform(n_in, n_out)
  if with_bias {
    param bias: [n_out] = zeros()
  }
  def forward(x: [..., n_in]) -> [..., n_out] {
    y = matmul(x, weight, tb = 1)
    if with_bias {
      y = y + bias
    }
    return y
  }
}

block LayerNorm(n, eps) {
  param weight: [n] = ones()
  param bias: [n] = zeros()
  def forward(x: [..., n]) -> [..., n] {
    return layernorm(x, eps) * weight + bias
  }
}

# timm's PatchEmbed: proj is a Conv2d(kernel = stride = patch), initialised like a Linear
# on the flattened kernel.
block Conv(c_in, c_out, k) {
  param weight: [c_out, c_in, k, k] = xavier_uniform(c_in * k * k, c_out)
  param bias: [c_out] = zeros()
}

block PatchEmbed(channels, dim, patch, image) {
  proj = Conv(channels, dim, patch)
  def forward(img: [B, channels, image, image]) -> [B, tokens, dim] {
    fan_in = channels * patch * patch
    p = reshape(img, [B, channels, grid, patch, grid, patch])
    p = reshape(transpose(p, [0, 2, 4, 1, 3, 5]), [B, tokens, fan_in])
    return matmul(p, reshape(proj.weight, [dim, fan_in]), tb = 1) + proj.bias
  }
}

block Attention(dim, heads) {
  head_dim = dim / heads
  qkv = Linear(dim, 3 * dim)
  proj = Linear(dim, dim)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    qkv5 = transpose(reshape(qkv(x), [B, T, 3, heads, head_dim]), [2, 0, 3, 1, 4])
    attn = softmax(matmul(qkv5[0], qkv5[1], tb = 1) * head_dim ** -0.5)
    o = transpose(attn @ qkv5[2], [0, 2, 1, 3])
    return proj(reshape(o, [B, T, dim]))
  }
}

block Mlp(dim, hidden) {
  fc1 = Linear(dim, hidden)
  fc2 = Linear(hidden, dim)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    return fc2(gelu(fc1(x)))
  }
}

block Block(dim, heads, eps) {
  norm1 = LayerNorm(dim, eps)
  attn = Attention(dim, heads)
  norm2 = LayerNorm(dim, eps)
  mlp = Mlp(dim, 4 * dim)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    x = x + attn(norm1(x))
    return x + mlp(norm2(x))
  }
}

block MaskedAutoencoderViT() {
  keep = int(tokens * (1 - mask_ratio))
  patch_embed = PatchEmbed(channels, dim, patch, image)
  param cls_token: [1, 1, dim] = normal(0.02)
  param pos_embed: [1, tokens + 1, dim] = sincos2d(grid, grid, 1) frozen
  blocks = repeat(depth) Block(dim, heads, eps)
  norm = LayerNorm(dim, eps)
  decoder_embed = Linear(dim, dec_dim)
  param mask_token: [1, 1, dec_dim] = normal(0.02)
  param decoder_pos_embed: [1, tokens + 1, dec_dim] = sincos2d(grid, grid, 1) frozen
  decoder_blocks = repeat(dec_depth) Block(dec_dim, dec_heads, eps)
  decoder_norm = LayerNorm(dec_dim, eps)
  decoder_pred = Linear(dec_dim, patch_values)

  # Per-patch predictions in (row, column, channel) order, and the mask: 1 where removed.
  def forward(imgs: [B, channels, image, image]) -> ([B, tokens, patch_values], [B, tokens]) {
    x = patch_embed(imgs) + pos_embed[:, 1:]
    ids_shuffle = randperm([B, tokens], axis = 1)
    ids_restore = argsort(ids_shuffle, axis = 1)
    x = gather(x, ids_shuffle[:, :keep], axis = 1)
    cls = expand(cls_token + pos_embed[:, :1], [B, 1, dim])
    latent = norm(blocks(concat(cls, x, axis = 1)))

    x = decoder_embed(latent)
    rest = concat(x[:, 1:], expand(mask_token, [B, tokens - keep, dec_dim]), axis = 1)
    x = concat(x[:, :1], gather(rest, ids_restore, axis = 1), axis = 1) + decoder_pos_embed
    x = decoder_pred(decoder_norm(decoder_blocks(x)))
    pred = x[:, 1:]
    mask = gather(concat(zeros([B, keep]), ones([B, tokens - keep]), axis = 1), ids_restore, axis = 1)
    return pred, mask
  }
}

model mae = MaskedAutoencoderViT()

# norm_pix_loss: each target patch normalised by its mean and (unbiased) variance; the
# squared error averaged per patch, then over the removed patches.
def patchify(imgs: [B, channels, image, image]) {
  x = reshape(imgs, [B, channels, grid, patch, grid, patch])
  return reshape(transpose(x, [0, 2, 4, 3, 5, 1]), [B, tokens, patch_values])
}

recipe pretrain {
  model = mae
  data = cifar10
  optimizer = adamw
  lr = 1.5e-4 * 4096 / 256
  betas = (0.9, 0.95)
  weight_decay = 0.05
  schedule = warmup_cosine_iter
  warmup = 200
  epochs = 2000
  batch = 4096
  micro_batch = 512
  def loss(imgs: [B, channels, image, image]) {
    pred, mask = mae(imgs)
    target = patchify(imgs)
    mu = mean(target, axes = -1, keepdim = 1)
    var = sum((target - mu) ** 2, axes = -1, keepdim = 1) / (patch_values - 1)
    target = (target - mu) / (var + 1e-6) ** 0.5
    per_patch = mean((pred - target) ** 2, axes = -1)
    loss = sum(per_patch * mask) / sum(mask)
    return loss
  }
}

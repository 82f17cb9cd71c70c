# MAE ViT-T on CIFAR-10: the masked autoencoder, its classifier, and their recipes.
# Behaviour and parameter names follow ../shared/reference/mae-recipe.md (the PyTorch
# code of IcarusWizard/MAE with timm 0.4.12 blocks); docs/dsl.md describes the language.

image      = 32
patch      = 2
channels   = 3
dim        = 192
enc_depth  = 12
dec_depth  = 4
heads      = 3
mask_ratio = 0.75
classes    = 10

# ---------------------------------------------------------------- layers (PyTorch's)

block Linear(n_in, n_out, with_bias = true) {
  param weight: [n_out, n_in] = fan_in_uniform(n_in)
  if with_bias {
    param bias: [n_out] = fan_in_uniform(n_in)
  }
  def forward(x: [..., n_in]) -> [..., n_out] {
    y = matmul(x, weight, tb = 1)
    if with_bias {
      y = y + bias
    }
    return y
  }
}

block LayerNorm(n, eps = 1e-5) {
  param weight: [n] = ones()
  param bias: [n] = zeros()
  def forward(x: [..., n]) -> [..., n] {
    return layernorm(x, eps) * weight + bias
  }
}

# Conv2d(channels -> dim, kernel = stride = patch): a Linear on each patch flattened in
# (channel, row, column) order; tokens row-major over the grid.
block PatchEmbed(channels, dim, patch, image) {
  grid = image / patch
  fan_in = channels * patch * patch
  param weight: [dim, channels, patch, patch] = fan_in_uniform(fan_in)
  param bias: [dim] = fan_in_uniform(fan_in)
  def forward(img: [B, channels, image, image]) -> [B, grid * grid, dim] {
    p = reshape(img, [B, channels, grid, patch, grid, patch])
    p = transpose(p, [0, 2, 4, 1, 3, 5])
    p = reshape(p, [B, grid * grid, fan_in])
    return matmul(p, reshape(weight, [dim, fan_in]), tb = 1) + bias
  }
}

# The inverse: (B, tokens, channels*patch*patch) -> (B, channels, image, image).
def unpatchify(x: [B, N, D], channels, patch, image) {
  grid = image / patch
  x = reshape(x, [B, grid, grid, channels, patch, patch])
  x = transpose(x, [0, 3, 1, 4, 2, 5])
  return reshape(x, [B, channels, image, image])
}

# ---------------------------------------------------------------- the transformer (timm 0.4.12)

block Attention(dim, heads, qkv_bias = false) {
  head_dim = dim / heads
  qkv = Linear(dim, 3 * dim, qkv_bias)
  proj = Linear(dim, dim)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    qkv5 = transpose(reshape(qkv(x), [B, T, 3, heads, head_dim]), [2, 0, 3, 1, 4])
    q = qkv5[0]
    k = qkv5[1]
    v = qkv5[2]
    attn = softmax(matmul(q, k, tb = 1) * head_dim ** -0.5, axis = -1)
    o = transpose(attn @ v, [0, 2, 1, 3])
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

block Block(dim, heads, mlp_ratio = 4, eps = 1e-5) {
  norm1 = LayerNorm(dim, eps)
  attn = Attention(dim, heads)
  norm2 = LayerNorm(dim, eps)
  mlp = Mlp(dim, dim * mlp_ratio)
  def forward(x: [B, T, dim]) -> [B, T, dim] {
    x = x + attn(norm1(x))
    return x + mlp(norm2(x))
  }
}

model embed = PatchEmbed(channels, dim, patch, image)

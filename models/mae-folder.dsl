# MAE on an image folder of your own (DIR/CLASS/IMAGE.jpg|png, as torchvision's ImageFolder):
# the model of models/mae.dsl at 96x96 (STL-10's size; a medical set or an ImageNet subset
# resized to it), patches of 8 (144 tokens, as 224 with 16 would give 196), pretrained with
# the official MAE's augmentation: RandomResizedCrop(scale = (0.2, 1.0), bicubic),
# RandomHorizontalFlip and ImageNet's per-channel normalisation; fine-tuned and probed with
# the validation split (DIR/val) resized to 109 (96 / 0.875) and centre-cropped. 96 rather than
# 224 keeps a step on a CPU in seconds; -Dimage=224 -Dpatch=16 gives the official shape.
#   maec models/mae-folder.dsl -o mae-folder
#   ./mae-folder pretrain --data DIR
# docs/dsl.md describes the data settings.

image      = 96
patch      = 8
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

# ---------------------------------------------------------------- MAE

block Encoder(image, patch, channels, dim, depth, heads, mask_ratio) {
  tokens = (image / patch) ** 2
  keep = int(tokens * (1 - mask_ratio))
  param cls_token: [1, 1, dim] = trunc_normal(0.02, -2, 2)
  param pos_embedding: [tokens, 1, dim] = trunc_normal(0.02, -2, 2)
  patchify = PatchEmbed(channels, dim, patch, image)
  transformer = repeat(depth) Block(dim, heads)
  layer_norm = LayerNorm(dim)

  # Returns the kept tokens (cls first) and, per image, the inverse permutation.
  def forward(img: [B, channels, image, image]) -> ([B, keep + 1, dim], i32[B, tokens]) {
    x = patchify(img) + swapaxes(pos_embedding, 0, 1)
    forward_indexes = randperm([B, tokens], axis = 1)
    backward_indexes = argsort(forward_indexes, axis = 1)
    x = gather(x, forward_indexes[:, :keep], axis = 1)
    x = concat(expand(cls_token, [B, 1, dim]), x, axis = 1)
    return layer_norm(transformer(x)), backward_indexes
  }
}

block Decoder(image, patch, channels, dim, depth, heads) {
  tokens = (image / patch) ** 2
  patch_values = channels * patch * patch
  param mask_token: [1, 1, dim] = trunc_normal(0.02, -2, 2)
  param pos_embedding: [tokens + 1, 1, dim] = trunc_normal(0.02, -2, 2)
  transformer = repeat(depth) Block(dim, heads)
  head = Linear(dim, patch_values)

  # Predicts every patch, and returns the mask: 1 on the removed patches.
  def forward(features: [B, T, dim], backward_indexes: i32[B, tokens]) -> ([B, channels, image, image],
                                                                         [B, channels, image, image]) {
    keep = T - 1
    indexes = concat(zeros([B, 1], i32), backward_indexes + 1, axis = 1)
    x = concat(features, expand(mask_token, [B, tokens + 1 - T, dim]), axis = 1)
    x = gather(x, indexes, axis = 1) + swapaxes(pos_embedding, 0, 1)
    x = transformer(x)
    patches = head(x[:, 1:])
    mask = concat(zeros([B, keep, patch_values]), ones([B, tokens - keep, patch_values]), axis = 1)
    mask = gather(mask, backward_indexes, axis = 1)
    pred = unpatchify(patches, channels, patch, image)
    mask = unpatchify(mask, channels, patch, image)
    return pred, mask
  }
}

block MAE(image, patch, channels, dim, enc_depth, dec_depth, heads, mask_ratio) {
  encoder = Encoder(image, patch, channels, dim, enc_depth, heads, mask_ratio)
  decoder = Decoder(image, patch, channels, dim, dec_depth, heads)
  def forward(img: [B, channels, image, image]) -> ([B, channels, image, image],
                                                    [B, channels, image, image]) {
    features, backward_indexes = encoder(img)
    pred, mask = decoder(features, backward_indexes)
    return pred, mask
  }
}

# The classifier shares the encoder's parameters under its own state_dict names.
block ViTClassifier(enc: Encoder, classes) {
  cls_token = enc.cls_token
  pos_embedding = enc.pos_embedding
  patchify = enc.patchify
  transformer = enc.transformer
  layer_norm = enc.layer_norm
  head = Linear(enc.dim, classes)
  def forward(img: [B, enc.channels, enc.image, enc.image]) -> [B, classes] {
    x = patchify(img) + swapaxes(pos_embedding, 0, 1)
    x = concat(expand(cls_token, [B, 1, enc.dim]), x, axis = 1)
    x = layer_norm(transformer(x))
    logits = head(x[:, 0])
    return logits
  }
}

model mae = MAE(image, patch, channels, dim, enc_depth, dec_depth, heads, mask_ratio)
model classifier = ViTClassifier(mae.encoder, classes)

# ---------------------------------------------------------------- recipes

def mae_loss(img: [B, channels, image, image]) {
  pred, mask = mae(img)
  return mean((pred - img) ** 2 * mask) / mask_ratio
}

def classify(img: [B, channels, image, image], label: i32[B]) {
  logits = classifier(img)
  loss = cross_entropy(logits, label)
  acc = mean(argmax(logits, axis = 1) == label)
  return loss, acc
}

recipe pretrain {
  model = mae
  data = image_folder
  mean = (0.485, 0.456, 0.406)
  std = (0.229, 0.224, 0.225)
  augment = [random_resized_crop(image, scale = (0.2, 1.0)), horizontal_flip(0.5)]
  optimizer = adamw
  lr = 1.5e-4 * 256 / 256
  betas = (0.9, 0.95)
  weight_decay = 0.05
  schedule = warmup_cosine_iter
  warmup = 40
  epochs = 800
  batch = 256
  micro_batch = 64
  def loss(img: [B, channels, image, image]) {
    return mae_loss(img)
  }
}

recipe finetune {
  model = classifier
  init = pretrain
  data = image_folder
  val_split = test
  mean = (0.485, 0.456, 0.406)
  std = (0.229, 0.224, 0.225)
  augment = [random_resized_crop(image, scale = (0.08, 1.0)), horizontal_flip(0.5)]
  optimizer = adamw
  lr = 1e-3 * 128 / 256
  betas = (0.9, 0.999)
  weight_decay = 0.05
  schedule = warmup_cosine_iter
  warmup = 5
  epochs = 100
  batch = 128
  micro_batch = 64
  def loss(img: [B, channels, image, image], label: i32[B]) {
    return classify(img, label)
  }
}

recipe linprobe {
  model = classifier
  init = pretrain
  train = ["head"]
  data = image_folder
  val_split = test
  mean = (0.485, 0.456, 0.406)
  std = (0.229, 0.224, 0.225)
  augment = [random_resized_crop(image, scale = (0.08, 1.0)), horizontal_flip(0.5)]
  optimizer = adamw
  lr = 1e-3 * 128 / 256
  betas = (0.9, 0.999)
  weight_decay = 0.05
  schedule = warmup_cosine_iter
  warmup = 5
  epochs = 90
  batch = 128
  micro_batch = 64
  def loss(img: [B, channels, image, image], label: i32[B]) {
    return classify(img, label)
  }
}

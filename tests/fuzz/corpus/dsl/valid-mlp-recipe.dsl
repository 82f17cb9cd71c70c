# two layers, a loss and a recipe
hidden = 16
block Mlp(n, h = hidden, act = true) {
  param w1: [h, n] = normal(0.02)
  param w2: f32[n, h] = xavier_uniform(n, h)
  def forward(x: [B, n]) -> [B, n] {
    y = matmul(x, w1, tb = 1)
    if act {
      y = gelu(y)
    } else {
      y = relu(y)
    }
    return matmul(y, w2, tb = 1)
  }
}
model mlp = Mlp(3 * 32 * 32)
def loss_fn(img: [B, 3, 32, 32], label: i32[B]) {
  logits = mlp(reshape(img, [B, 3 * 32 * 32]))[:, :10]
  return cross_entropy(logits, label), mean(argmax(logits, axis = 1) == label)
}
recipe train {
  model = mlp
  data = cifar10
  optimizer = adamw
  lr = 1e-3 * 2 / 4
  betas = (0.9, 0.999)
  epochs = 3
  batch = 64
  def loss(x: [B, 3, 32, 32], label: i32[B]) {
    return loss_fn(x, label)
  }
}

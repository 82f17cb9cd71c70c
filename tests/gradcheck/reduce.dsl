# Gradient check: reductions, normalisations and the losses (tests/gradcheck/run.sh).
block M() {
  param a: [6, 10] = normal(1.0)
  param w: [10] = uniform(0.5, 1.5)
  def forward(img: [B, 3, 32, 32]) -> [B, 10] {
    x = img[:, 1, 0:6, 0:10] + a
    s = sum(x, axes = [1], keepdim = 1) + mean(x, axes = 2, keepdim = 1) + max(x, axes = [1, 2], keepdim = 1)
    y = softmax(x + s, axis = 1) + log_softmax(x, axis = -1) + layernorm(x * w, 1e-5)
    return mean(y, axes = 1) + sum(x, axes = 1) * 0.1
  }
}
model m = M()

recipe check {
  model = m
  data = cifar10
  lr = 1e-3
  epochs = 1
  batch = 3
  def loss(img: [B, 3, 32, 32], label: i32[B]) {
    logits = m(img)
    return cross_entropy(logits, label) + mean(logits) * 0.3, mean(argmax(logits, axis = 1) == label)
  }
}

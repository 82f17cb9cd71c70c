# A linear classifier of CIFAR-10: the trainer's robustness tests (tests/robustness/trainer.sh)
# run it for many small steps.
block Linear(n, k) {
  param w: [k, n] = normal(0.01)
  param b: [k] = zeros()
  def forward(x: [B, n]) -> [B, k] {
    return matmul(x, w, tb = 1) + b
  }
}
model linear = Linear(3 * 32 * 32, 10)
recipe train {
  model = linear
  data = cifar10
  optimizer = adamw
  lr = 1e-3
  epochs = 100
  batch = 32
  micro_batch = 16
  def loss(x: [B, 3, 32, 32], label: i32[B]) {
    logits = linear(reshape(x, [B, 3 * 32 * 32]))
    return cross_entropy(logits, label), mean(argmax(logits, axis = 1) == label)
  }
}
# A loss that AdamW drives to -infinity: the exp of the exp of a score that grows with
# every step overflows at step 8 (the numerical guard's test: after three checkpoints).
recipe diverge {
  model = linear
  data = cifar10
  optimizer = adamw
  schedule = constant
  lr = 5e-4
  epochs = 100
  batch = 32
  micro_batch = 16
  def loss(x: [B, 3, 32, 32], label: i32[B]) {
    return -mean(exp(exp(linear(reshape(x, [B, 3 * 32 * 32])))))
  }
}
# A NaN in the middle of the step: log of the pixels, half of which are negative
# (--detect-anomaly's test names this line; without it the guard stops at the loss).
recipe anomaly {
  model = linear
  data = cifar10
  optimizer = adamw
  lr = 1e-3
  epochs = 1
  batch = 32
  def loss(x: [B, 3, 32, 32], label: i32[B]) {
    y = log(x)
    logits = linear(reshape(y, [B, 3 * 32 * 32]))
    return cross_entropy(logits, label)
  }
}
# A finite loss whose gradient is not: sqrt at 0 has an infinite slope, times 0 (the
# guard's gradient-norm check).
recipe badgrad {
  model = linear
  data = cifar10
  optimizer = adamw
  lr = 1e-3
  epochs = 1
  batch = 32
  def loss(x: [B, 3, 32, 32], label: i32[B]) {
    logits = linear(reshape(x, [B, 3 * 32 * 32]))
    return cross_entropy(logits, label) + mean(sqrt(logits * 0.0))
  }
}

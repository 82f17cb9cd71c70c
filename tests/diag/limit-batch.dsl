# An absurd batch: a trillion images a step.
block L() {
  param w: [4, 4] = zeros()
  def forward(x: [B, 4]) -> [B, 4] {
    return x @ w
  }
}
model m = L()
recipe r {
  model = m
  data = cifar10
  optimizer = adamw
  lr = 1e-3
  epochs = 1
  batch = 1000000000000
  def loss(x: [B, 3, 32, 32], label: i32[B]) {
    return mean(m(reshape(x, [B, 3072])[:, 0:4]))
  }
}
# expect: tests/diag/limit-batch.dsl:15:11: error: 'batch' must be in [1, 1048576], got 1000000000000
# expect:    15 |   batch = 1000000000000
# expect:       |           ^~~~~~~~~~~~~
# expect: 1 error
# exit: 1

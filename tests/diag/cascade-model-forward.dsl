# The model's forward fails: the recipe that calls it reports nothing more.
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x @ w
  }
}
model m = A(3072)
recipe r {
  model = m
  data = cifar10
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(m(reshape(img, [B, 3072])))
  }
}
# expect: tests/diag/cascade-model-forward.dsl:5:12: error: 'matmul' needs operands of rank 2 or more, got f32[B,3072] and f32[3072]
# expect:     5 |     return x @ w
# expect:       |            ^~~~~
# expect: 1 error
# exit: 1

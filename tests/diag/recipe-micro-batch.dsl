block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
recipe r {
  model = m
  data = cifar10
  lr = 0.1
  epochs = 10
  batch = 8
  micro_batch = 3
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-micro-batch.dsl:14:3: error: micro_batch 3 must divide batch 8
# expect:    14 |   micro_batch = 3
# expect:       |   ^~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

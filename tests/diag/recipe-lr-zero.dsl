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
  lr = 0
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-lr-zero.dsl:11:8: error: 'lr' must be in (0, 10], got 0
# expect:    11 |   lr = 0
# expect:       |        ^
# expect: 1 error
# exit: 1

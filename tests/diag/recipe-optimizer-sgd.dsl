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
  optimizer = sgd
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-optimizer-sgd.dsl:14:15: error: 'optimizer' must be adamw, not 'sgd'
# expect:    14 |   optimizer = sgd
# expect:       |               ^~~
# expect: 1 error
# exit: 1

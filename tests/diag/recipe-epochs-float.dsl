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
  epochs = 1.5
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-epochs-float.dsl:12:12: error: 'epochs' must be an integer, got the number 1.5
# expect:    12 |   epochs = 1.5
# expect:       |            ^~~
# expect: 1 error
# exit: 1

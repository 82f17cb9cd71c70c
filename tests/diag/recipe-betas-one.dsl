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
  betas = (0.9, 1.0)
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-betas-one.dsl:14:17: error: 'betas' must be in [0, 1), got 1.0
# expect:    14 |   betas = (0.9, 1.0)
# expect:       |                 ^~~
# expect: 1 error
# exit: 1

block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# The elaborator reports every bad setting in one run.
recipe r {
  model = m
  data = cifar10
  optimizer = sgd
  lr = 0
  betas = (0.9, 1.5)
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-several-errors.dsl:12:15: error: 'optimizer' must be adamw, not 'sgd'
# expect:    12 |   optimizer = sgd
# expect:       |               ^~~
# expect: tests/diag/recipe-several-errors.dsl:13:8: error: 'lr' must be in (0, 10], got 0
# expect:    13 |   lr = 0
# expect:       |        ^
# expect: tests/diag/recipe-several-errors.dsl:14:17: error: 'betas' must be in [0, 1), got 1.5
# expect:    14 |   betas = (0.9, 1.5)
# expect:       |                 ^~~
# expect: 3 errors
# exit: 1

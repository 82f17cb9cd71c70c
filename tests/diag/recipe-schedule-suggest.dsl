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
  schedule = warmup_cosin
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-schedule-suggest.dsl:14:14: error: 'schedule' must be warmup_cosine, warmup_cosine_iter or constant, not 'warmup_cosin'; did you mean 'warmup_cosine'?
# expect:    14 |   schedule = warmup_cosin
# expect:       |              ^~~~~~~~~~~~
# expect: 1 error
# exit: 1

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
  warmup = 20
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-warmup-epochs.dsl:14:3: error: warmup (20 epochs) is longer than the run (10 epochs)
# expect:    14 |   warmup = 20
# expect:       |   ^~~~~~~~~~~
# expect: 1 error
# exit: 1

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
  epoch = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/name-unknown-recipe-setting.dsl:12:3: error: unknown recipe setting 'epoch'; did you mean 'epochs'?
# expect:    12 |   epoch = 10
# expect:       |   ^~~~~
# expect: 1 error
# exit: 1

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
  momentum = 0.9
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/name-unknown-recipe-setting-far.dsl:14:3: error: unknown recipe setting 'momentum'
# expect:    14 |   momentum = 0.9
# expect:       |   ^~~~~~~~
# expect: 1 error
# exit: 1

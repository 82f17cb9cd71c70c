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
  lr = 0.2
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/dup-recipe-setting.dsl:14:3: error: 'lr' is set twice
# expect:    14 |   lr = 0.2
# expect:       |   ^~
# expect: tests/diag/dup-recipe-setting.dsl:11:3: note: first set here
# expect:    11 |   lr = 0.1
# expect:       |   ^~~~~~~~
# expect: 1 error
# exit: 1

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
  train = head
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-train-not-list.dsl:14:11: error: 'train' must be all or a list of parameter names such as ["head"], not 'head'
# expect:    14 |   train = head
# expect:       |           ^~~~
# expect: 1 error
# exit: 1

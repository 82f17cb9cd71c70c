block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
recipe r {
  model = A
  data = cifar10
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-model-not-model.dsl:8:11: error: 'model' must name a model, got block 'A'
# expect:     8 |   model = A
# expect:       |           ^
# expect: 1 error
# exit: 1

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
  def loss(img: [B, 3, 32, 32]) {
    return img
  }
}
# expect: tests/diag/recipe-loss-not-scalar.dsl:14:7: error: the loss must return a scalar first, got f32[B,3,32,32]
# expect:    14 |   def loss(img: [B, 3, 32, 32]) {
# expect:       |       ^~~~
# expect: 1 error
# exit: 1

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
  def loss(img: [B, 1, 28, 28]) {
    return mean(img)
  }
}
# expect: tests/diag/shape-loss-input.dsl:14:12: error: recipe 'r' reads cifar10 images f32[B,3,32,32], but the loss takes f32[B,1,28,28]
# expect:    14 |   def loss(img: [B, 1, 28, 28]) {
# expect:       |            ^~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

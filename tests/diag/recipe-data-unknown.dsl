block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
recipe r {
  model = m
  data = mnist
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-data-unknown.dsl:10:10: error: 'data' must be cifar10, fashion_mnist or image_folder (image_folder("DIR") names its folder), not 'mnist'
# expect:    10 |   data = mnist
# expect:       |          ^~~~~
# expect: 1 error
# exit: 1

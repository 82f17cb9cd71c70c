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
  mean = (0.5, 0.5, 0.5)
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-setting-other-data.dsl:11:3: error: 'mean' is a setting of image_folder data; recipe 'r' reads cifar10
# expect:    11 |   mean = (0.5, 0.5, 0.5)
# expect:       |   ^~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

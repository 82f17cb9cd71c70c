block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
recipe r {
  model = m
  data = image_folder("imgs")
  mean = (0.485, 0.456, 0.406)
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 1, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-mean-channels.dsl:11:3: error: 'mean' gives 3 values; the images have 1 channel
# expect:    11 |   mean = (0.485, 0.456, 0.406)
# expect:       |   ^~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

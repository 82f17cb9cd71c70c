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
  augment = [horizontal_flip(), random_resized_crop(16)]
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-augment-order.dsl:11:13: error: 'augment' takes a crop (random_resized_crop(...), or resize(...) then center_crop(...)), then horizontal_flip(...), each at most once and in that order
# expect:    11 |   augment = [horizontal_flip(), random_resized_crop(16)]
# expect:       |             ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

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
  augment = [random_resized_crop(16, scale = (0.5, 1.5))]
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-augment-scale.dsl:11:46: error: random_resized_crop's scale must be a pair (lo, hi) with 0 < lo <= hi <= 1, got (0.5, 1.5)
# expect:    11 |   augment = [random_resized_crop(16, scale = (0.5, 1.5))]
# expect:       |                                              ^~~~~~~~~~
# expect: 1 error
# exit: 1

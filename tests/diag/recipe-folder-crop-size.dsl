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
  augment = [random_resized_crop(224)]
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-crop-size.dsl:11:3: error: random_resized_crop(224) makes 224x224 images; the loss takes 16x16
# expect:    11 |   augment = [random_resized_crop(224)]
# expect:       |   ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

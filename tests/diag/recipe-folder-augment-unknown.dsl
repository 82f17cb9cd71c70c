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
  augment = [random_crop(16)]
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-augment-unknown.dsl:11:14: error: 'augment' lists random_resized_crop(size, scale = (0.2, 1.0), ratio = (3/4, 4/3)), resize(size), center_crop(size) and horizontal_flip(p = 0.5); not 'random_crop(16)'
# expect:    11 |   augment = [random_crop(16)]
# expect:       |              ^~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
recipe r {
  model = m
  data = image_folder(42)
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-arg.dsl:10:10: error: image_folder takes the folder as a string, such as image_folder("data/train")
# expect:    10 |   data = image_folder(42)
# expect:       |          ^~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

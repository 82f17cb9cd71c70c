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
  val_resize = 8
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-val-resize.dsl:11:3: error: val_resize 8 is smaller than the 16x16 images its center crop makes
# expect:    11 |   val_resize = 8
# expect:       |   ^~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

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
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 4, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-channels.dsl:14:12: error: image_folder feeds images of shape [B, 1 or 3, H, W], but the loss takes f32[B,4,16,16]
# expect:    14 |   def loss(img: [B, 4, 16, 16]) {
# expect:       |            ^~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

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
  folder = "other"
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 16, 16]) {
    return mean(img)
  }
}
# expect: tests/diag/recipe-folder-twice.dsl:11:3: error: 'folder' is set twice
# expect:    11 |   folder = "other"
# expect:       |   ^~~~~~
# expect: tests/diag/recipe-folder-twice.dsl:10:23: note: first set here
# expect:    10 |   data = image_folder("imgs")
# expect:       |                       ^~~~~~
# expect: 1 error
# exit: 1

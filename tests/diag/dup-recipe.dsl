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
  lr = 0.1
  epochs = 10
  batch = 8
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
recipe r {
  model = m
}
# expect: tests/diag/dup-recipe.dsl:18:8: error: recipe 'r' is already defined
# expect:    18 | recipe r {
# expect:       |        ^
# expect: tests/diag/dup-recipe.dsl:8:8: note: first defined here
# expect:     8 | recipe r {
# expect:       |        ^
# expect: 1 error
# exit: 1

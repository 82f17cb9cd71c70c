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
  def helper(x) {
    return x
  }
  def loss(img: [B, 3, 32, 32]) {
    return mean(img)
  }
}
# expect: tests/diag/misuse-def-in-recipe.dsl:14:3: error: a recipe holds settings (key = value) and 'def loss(...)'
# expect:    14 |   def helper(x) {
# expect:       |   ^~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

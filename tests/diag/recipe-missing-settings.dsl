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
}
# expect: tests/diag/recipe-missing-settings.dsl:8:8: error: recipe 'r' does not set 'lr', 'epochs' and 'batch'
# expect:     8 | recipe r {
# expect:       |        ^
# expect: tests/diag/recipe-missing-settings.dsl:8:8: error: recipe 'r' has no 'def loss(...)'
# expect:     8 | recipe r {
# expect:       |        ^
# expect: 2 errors
# exit: 1

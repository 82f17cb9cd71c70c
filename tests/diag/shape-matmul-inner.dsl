block A(n) {
  param w: [n, 3] = zeros()
  def forward(x: [B, 5]) -> [B, 3] {
    return x @ w
  }
}
model m = A(4)
# expect: tests/diag/shape-matmul-inner.dsl:4:12: error: 'matmul' inner dimensions differ: f32[B,5] times f32[4,3]
# expect:     4 |     return x @ w
# expect:       |            ^~~~~
# expect: 1 error
# exit: 1

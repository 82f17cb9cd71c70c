block A(n) {
  param w: [n, 2] = zeros()
  def forward(x: [B, n, 3]) -> [B, 2 * n, 3] {
    return concat(x, expand(w, [B, n, 2]), axis = 1)
  }
}
model m = A(4)
# expect: tests/diag/shape-concat.dsl:4:12: error: cannot concatenate f32[B,4,3] and f32[B,4,2] along axis 1: dimension 2 differs
# expect:     4 |     return concat(x, expand(w, [B, n, 2]), axis = 1)
# expect:       |            ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

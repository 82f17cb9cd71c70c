block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return reshape(x * w, [B, 3])
  }
}
model m = A(4)
# expect: tests/diag/shape-reshape-count.dsl:4:12: error: cannot reshape f32[B,4] to [B,3]: element counts differ
# expect:     4 |     return reshape(x * w, [B, 3])
# expect:       |            ^~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1

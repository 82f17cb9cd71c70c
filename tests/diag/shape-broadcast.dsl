block A(n) {
  param w: [3] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/shape-broadcast.dsl:4:12: error: cannot broadcast f32[B,4] and f32[3] for 'mul' (dimension 1: 4 vs 3)
# expect:     4 |     return x * w
# expect:       |            ^~~~~
# expect: 1 error
# exit: 1

block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, 2 * n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/shape-declared-result.dsl:4:5: error: result 1 of 'A.forward' should be f32[B,8] (declared [B, 2 * n]), got f32[B,4]
# expect:     4 |     return x * w
# expect:       |     ^~~~~~~~~~~~
# expect: 1 error
# exit: 1

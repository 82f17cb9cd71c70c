block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, 2 * n] {
    return x * w
  }
}
block C() {
  a = A(4)
  def forward(x: [B, 4]) -> [B, 8] {
    return a(x)
  }
}
model m = C()
# expect: tests/diag/shape-declared-result-in-call.dsl:4:5: error: result 1 of 'A.forward' should be f32[B,8] (declared [B, 2 * n]), got f32[B,4]
# expect:     4 |     return x * w
# expect:       |     ^~~~~~~~~~~~
# expect: tests/diag/shape-declared-result-in-call.dsl:10:12: note: in this call of 'A.forward'
# expect:    10 |     return a(x)
# expect:       |            ^~~~
# expect: 1 error
# exit: 1

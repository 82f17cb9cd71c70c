block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
block C() {
  a = A(4)
  def forward(x: [B, 8]) -> [B, 8] {
    return a(x)
  }
}
model m = C()
# expect: tests/diag/shape-forward-arg.dsl:10:14: error: argument 'x' of 'A.forward' should be f32[B,4] (declared [B, n]), got f32[B,8]
# expect:    10 |     return a(x)
# expect:       |              ^
# expect: 1 error
# exit: 1

block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
block C() {
  a = A(4)
  def forward(x: [B, 4]) -> [B, 4] {
    return a(x, x)
  }
}
model m = C()
# expect: tests/diag/arity-forward.dsl:10:17: error: 'A.forward' takes 1 argument, got 2
# expect:    10 |     return a(x, x)
# expect:       |                 ^
# expect: 1 error
# exit: 1

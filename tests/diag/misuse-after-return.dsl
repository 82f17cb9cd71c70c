block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
    y = x
  }
}
model m = A(4)
# expect: tests/diag/misuse-after-return.dsl:5:5: error: this statement follows 'return' and is never run
# expect:     5 |     y = x
# expect:       |     ^~~~~
# expect: 1 error
# exit: 1

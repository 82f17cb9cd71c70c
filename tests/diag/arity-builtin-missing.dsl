block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return exp()
  }
}
model m = A(4)
# expect: tests/diag/arity-builtin-missing.dsl:4:12: error: 'exp' takes a tensor; got 0 arguments
# expect:     4 |     return exp()
# expect:       |            ^~~~~
# expect: 1 error
# exit: 1

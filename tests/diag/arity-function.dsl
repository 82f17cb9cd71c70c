def scale(x, factor) {
  return x * factor
}
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return scale(x * w)
  }
}
model m = A(4)
# expect: tests/diag/arity-function.dsl:7:12: error: missing argument 'factor' of function 'scale'
# expect:     7 |     return scale(x * w)
# expect:       |            ^~~~~~~~~~~~
# expect: tests/diag/arity-function.dsl:1:5: note: 'scale' is defined here
# expect:     1 | def scale(x, factor) {
# expect:       |     ^~~~~
# expect: 1 error
# exit: 1

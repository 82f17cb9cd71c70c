def f(x) {
  return f(x)
}
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return f(x * w)
  }
}
model m = A(4)
# expect: tests/diag/recursive-function.dsl:2:10: error: function 'f' is recursive: it calls itself
# expect:     2 |   return f(x)
# expect:       |          ^~~~
# expect: tests/diag/recursive-function.dsl:7:12: note: in this call of 'f'
# expect:     7 |     return f(x * w)
# expect:       |            ^~~~~~~~
# expect: 1 error
# exit: 1

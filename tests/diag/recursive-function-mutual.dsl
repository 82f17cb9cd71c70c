def f(x) {
  return g(x)
}
def g(x) {
  return f(x)
}
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return f(x * w)
  }
}
model m = A(4)
# expect: tests/diag/recursive-function-mutual.dsl:5:10: error: function 'f' is recursive: it calls itself through function 'g'
# expect:     5 |   return f(x)
# expect:       |          ^~~~
# expect: tests/diag/recursive-function-mutual.dsl:2:10: note: in this call of 'g'
# expect:     2 |   return g(x)
# expect:       |          ^~~~
# expect: tests/diag/recursive-function-mutual.dsl:10:12: note: in this call of 'f'
# expect:    10 |     return f(x * w)
# expect:       |            ^~~~~~~~
# expect: 1 error
# exit: 1

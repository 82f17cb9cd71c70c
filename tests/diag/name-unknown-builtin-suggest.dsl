block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return sofmax(x * w)
  }
}
model m = A(4)
# expect: tests/diag/name-unknown-builtin-suggest.dsl:4:12: error: unknown name 'sofmax'; did you mean 'softmax'?
# expect:     4 |     return sofmax(x * w)
# expect:       |            ^~~~~~
# expect: 1 error
# exit: 1

block A(n) {
  param w: [n, n, n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x
  }
}
model m = A(100000)
# expect: tests/diag/dim-too-many-elements.dsl:2:12: error: parameter 'w' has more than 2^40 elements
# expect:     2 |   param w: [n, n, n] = zeros()
# expect:       |            ^~~~~~~~~
# expect: tests/diag/dim-too-many-elements.dsl:7:11: note: in this instance of block 'A'
# expect:     7 | model m = A(100000)
# expect:       |           ^~~~~~~~~
# expect: 1 error
# exit: 1

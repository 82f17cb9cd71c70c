block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4.5)
# expect: tests/diag/dim-float-arg.dsl:2:13: error: a parameter dimension must be an integer between 1 and 2^40, got the number 4.5
# expect:     2 |   param w: [n] = zeros()
# expect:       |             ^
# expect: tests/diag/dim-float-arg.dsl:7:11: note: in this instance of block 'A'
# expect:     7 | model m = A(4.5)
# expect:       |           ^~~~~~
# expect: 1 error
# exit: 1

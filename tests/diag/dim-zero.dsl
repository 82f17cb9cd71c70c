block A(n) {
  param w: [n, 0] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x
  }
}
model m = A(4)
# expect: tests/diag/dim-zero.dsl:2:16: error: a parameter dimension must be an integer between 1 and 2^40, got the integer 0
# expect:     2 |   param w: [n, 0] = zeros()
# expect:       |                ^
# expect: tests/diag/dim-zero.dsl:7:11: note: in this instance of block 'A'
# expect:     7 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1

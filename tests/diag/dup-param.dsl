block A(n) {
  param w: [n] = zeros()
  param w: [n] = ones()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/dup-param.dsl:3:9: error: 'w' is already defined
# expect:     3 |   param w: [n] = ones()
# expect:       |         ^
# expect: tests/diag/dup-param.dsl:2:9: note: first defined here
# expect:     2 |   param w: [n] = zeros()
# expect:       |         ^
# expect: tests/diag/dup-param.dsl:8:11: note: in this instance of block 'A'
# expect:     8 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1

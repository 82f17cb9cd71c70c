block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
# the closing brace of the block is missing
# expect: tests/diag/syntax-missing-brace.dsl:5:4: error: syntax error: unexpected end of file
# expect:     5 |   }
# expect:       |    ^
# expect: tests/diag/syntax-missing-brace.dsl:1:12: note: this '{' is not closed
# expect:     1 | block A(n) {
# expect:       |            ^
# expect: 1 error
# exit: 1

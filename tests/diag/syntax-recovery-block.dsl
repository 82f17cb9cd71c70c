# Three errors in one run: the parser resumes at the next line each time.
block A(n) {
  param w [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    y = x * w w
    return y
  }
}
model m A(4)
# expect: tests/diag/syntax-recovery-block.dsl:3:11: error: syntax error: unexpected '['; expected ':'
# expect:     3 |   param w [n] = zeros()
# expect:       |           ^
# expect: tests/diag/syntax-recovery-block.dsl:5:15: error: syntax error: unexpected name 'w'; expected end of line or an operator
# expect:     5 |     y = x * w w
# expect:       |               ^
# expect: tests/diag/syntax-recovery-block.dsl:9:9: error: syntax error: unexpected name 'A'; expected '='
# expect:     9 | model m A(4)
# expect:       |         ^
# expect: 3 errors
# exit: 1

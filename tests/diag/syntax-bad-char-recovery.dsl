block A(n $) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4 4)
# expect: tests/diag/syntax-bad-char-recovery.dsl:1:11: error: unexpected character '$'
# expect:     1 | block A(n $) {
# expect:       |           ^
# expect: tests/diag/syntax-bad-char-recovery.dsl:7:15: error: syntax error: unexpected integer '4'; expected ')', ',' or an operator
# expect:     7 | model m = A(4 4)
# expect:       |               ^
# expect: 2 errors
# exit: 1
